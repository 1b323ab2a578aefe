"""Datasets listed in ``relative/path label`` split files."""
from typing import Any, List, Optional, Sequence

from mmengine.fileio import get_file_backend
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .split_file import SplitFileError, read_split_file

#: Key of a sample's 1-based line in the split file.
SPLIT_LINE = 'split_line'


@DATASETS.register_module()
class SplitFileDataset(BaseDataset):
    """A long-tailed dataset read from a ``relative/path label`` split file.

    Every listed image must exist when the split is loaded (unless
    ``check_files=False``); images are read later by the pipeline's
    ``LoadImageFromFile``. Errors in the split file raise
    :class:`SplitFileError` naming the file and line, and so does an image
    that the pipeline fails on (an empty or damaged file, say).

    The training class counts come from the training dataset the runner
    builds (:func:`~shike_mm.datasets.get_train_class_counts`), which
    refuses a class without images.

    Args:
        ann_file (str): Split file, relative to ``data_root`` unless absolute.
        data_root (str): Root of the split files and images. Defaults to ''.
        data_prefix (str | dict): Image folder, relative to ``data_root``,
            that the paths in the split file start from. Defaults to '' (the
            data root).
        num_classes (int, optional): Number of classes; labels must lie in
            ``[0, num_classes)``. Defaults to the dataset's standard number
            (required for this base class).
        check_files (bool): Check that every image exists when loading.
            Defaults to True.
        classes (str | Sequence[str], optional): Class names, a file or a
            sequence of ``num_classes`` names. Defaults to the dataset's
            names, or ``class_0``, ``class_1``, ...
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``lazy_init``, ...).
    """
    NUM_CLASSES: Optional[int] = None

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix='',
                 num_classes: Optional[int] = None,
                 check_files: bool = True,
                 classes=None,
                 lazy_init: bool = False,
                 **kwargs):
        num_classes = self.NUM_CLASSES if num_classes is None \
            else num_classes
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'{type(self).__name__}: num_classes must be a '
                             f'positive int, got {num_classes!r}')
        self.num_classes = num_classes
        self.check_files = check_files
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            classes=classes,
            lazy_init=True,
            **kwargs)
        self._set_class_names()
        if not lazy_init:
            self.full_init()

    def default_class_names(self) -> Sequence[str]:
        """Class names used when none are configured."""
        return tuple(f'class_{i}' for i in range(self.num_classes))

    def _set_class_names(self):
        names = self._metainfo.get('classes')
        if names is None:
            self._metainfo['classes'] = tuple(self.default_class_names())
        elif len(names) != self.num_classes:
            raise ValueError(
                f'{type(self).__name__}: {len(names)} class names given for '
                f'num_classes={self.num_classes}')

    def load_data_list(self) -> List[dict]:
        """Read the split file and check that the images exist."""
        entries = read_split_file(self.ann_file, self.num_classes)
        backend = get_file_backend(self.img_prefix, enable_singleton=True)
        data_list, missing = [], []
        for entry in entries:
            img_path = backend.join_path(self.img_prefix, entry.rel_path)
            if self.check_files and not backend.exists(img_path):
                missing.append(entry)
            data_list.append({
                'img_path': img_path,
                'gt_label': entry.label,
                SPLIT_LINE: entry.line_no
            })
        if missing:
            raise SplitFileError(
                self.ann_file,
                f'image {missing[0].rel_path!r} not found under '
                f'{self.img_prefix!r} ({len(missing)} of {len(entries)} '
                'images missing). Check data_root/data_prefix, or set '
                'check_files=False to skip this check', missing[0].line_no)

        print_log(
            f'{type(self).__name__}: {len(data_list)} images of '
            f'{self.num_classes} classes from {self.ann_file}',
            logger='current')
        return data_list

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on sample ``idx``; a failure names the image
        and its line in the split file."""
        try:
            return super().prepare_data(idx)
        except Exception as error:
            info = self.get_data_info(idx)
            raise SplitFileError(
                self.ann_file, f'image {info["img_path"]!r} failed in the '
                f'pipeline: {type(error).__name__}: {error}',
                info[SPLIT_LINE]) from error
