"""Datasets listed in ``relative/path label`` split files."""
import os.path as osp
import re
from typing import List, Optional, Sequence

import numpy as np
from mmengine.fileio import exists, get_file_backend, join_path
from mmengine.logging import print_log
from mmengine.utils import is_abs
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .class_counts import TRAIN_CLASS_COUNTS
from .split_file import (SplitFileError, count_training_labels,
                         read_split_file, read_training_counts)

_TRAIN_STEM = re.compile(r'(^|_)train$')
_EVAL_STEM = re.compile(r'(^|_)(val|test)$')


@DATASETS.register_module()
class SplitFileDataset(BaseDataset):
    """A long-tailed dataset read from a ``relative/path label`` split file.

    Every listed image must exist when the split is loaded (unless
    ``check_files=False``); images are read later by the pipeline's
    ``LoadImageFromFile``. Errors in the split file raise
    :class:`SplitFileError` naming the file and line.

    The per-class counts of the training split are available through
    :meth:`get_train_class_counts` and ``metainfo['train_class_counts']``:

    - a split whose file stem ends in ``train`` counts itself;
    - otherwise ``train_ann_file`` is counted; by default it is the file
      beside ``ann_file`` whose stem ends in ``train`` instead of ``val`` or
      ``test`` (``ImageNet_LT_val.txt`` -> ``ImageNet_LT_train.txt``), when
      it exists.

    A training split in which a class has no image is rejected.

    Args:
        ann_file (str): Split file, relative to ``data_root`` unless absolute.
        data_root (str): Root of the split files and images. Defaults to ''.
        data_prefix (str | dict): Image folder, relative to ``data_root``,
            that the paths in the split file start from. Defaults to '' (the
            data root).
        num_classes (int, optional): Number of classes; labels must lie in
            ``[0, num_classes)``. Defaults to the dataset's standard number
            (required for this base class).
        train_ann_file (str, optional): Training split file of this dataset,
            relative to ``data_root`` unless absolute. Defaults to None (the
            rule above).
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
                 train_ann_file: Optional[str] = None,
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
        self.train_ann_file = self._find_train_ann_file(train_ann_file)
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

    def _find_train_ann_file(self,
                             train_ann_file: Optional[str]) -> Optional[str]:
        if train_ann_file:
            if is_abs(train_ann_file) or not self.data_root:
                return train_ann_file
            return join_path(self.data_root, train_ann_file)
        folder, name = osp.split(self.ann_file)
        stem, ext = osp.splitext(name)
        if _TRAIN_STEM.search(stem):
            return self.ann_file
        if _EVAL_STEM.search(stem):
            sibling = join_path(folder, _EVAL_STEM.sub(r'\1train', stem) + ext)
            if exists(sibling):
                return sibling
        return None

    def load_data_list(self) -> List[dict]:
        """Read the split file, check the images and count the training
        split."""
        entries = read_split_file(self.ann_file, self.num_classes)
        backend = get_file_backend(self.img_prefix, enable_singleton=True)
        data_list, missing = [], []
        for entry in entries:
            img_path = backend.join_path(self.img_prefix, entry.rel_path)
            if self.check_files and not backend.exists(img_path):
                missing.append(entry)
            data_list.append({'img_path': img_path, 'gt_label': entry.label})
        if missing:
            raise SplitFileError(
                self.ann_file,
                f'image {missing[0].rel_path!r} not found under '
                f'{self.img_prefix!r} ({len(missing)} of {len(entries)} '
                'images missing). Check data_root/data_prefix, or set '
                'check_files=False to skip this check', missing[0].line_no)

        if self.train_ann_file == self.ann_file:
            labels = np.array([entry.label for entry in entries])
            counts = count_training_labels(self.ann_file, labels,
                                           self.num_classes)
        elif self.train_ann_file is not None:
            counts = read_training_counts(self.train_ann_file,
                                          self.num_classes)
        else:
            counts = None
        if counts is not None:
            self._metainfo[TRAIN_CLASS_COUNTS] = counts
        print_log(
            f'{type(self).__name__}: {len(data_list)} images of '
            f'{self.num_classes} classes from {self.ann_file}; training '
            f'counts from {self.train_ann_file or "nowhere"}' +
            (f' (max {max(counts)}, min {min(counts)})' if counts else ''),
            logger='current')
        return data_list

    def get_train_class_counts(self) -> List[int]:
        """Per-class image counts of this dataset's training split.

        Returns:
            list[int]: ``num_classes`` counts.
        """
        self.full_init()
        if TRAIN_CLASS_COUNTS not in self._metainfo:
            raise ValueError(
                f'{type(self).__name__}: no training split is known for '
                f'{self.ann_file}; set train_ann_file')
        return list(self._metainfo[TRAIN_CLASS_COUNTS])

    def extra_repr(self) -> List[str]:
        """Extra lines of the dataset's repr."""
        return super().extra_repr() + [
            f'Training split: \t{self.train_ann_file}'
        ]
