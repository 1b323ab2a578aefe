"""Name the image when a batch cannot be stacked for its size."""
from collections import Counter
from typing import Callable, List, Optional

import torch
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


def split_line_of(ann_file: str, img_path: str) -> Optional[int]:
    """The 1-based line of ``img_path`` in a ``relative/path label`` split
    file, or None when no line names it."""
    try:
        with open(ann_file) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line_no, line in enumerate(lines, start=1):
        fields = line.split()
        if fields and (img_path == fields[0]
                       or img_path.endswith('/' + fields[0].lstrip('/'))):
            return line_no
    return None


def _ann_file(dataset) -> Optional[str]:
    """The split file of a dataset, looking inside dataset wrappers."""
    while not getattr(dataset, 'ann_file', None) and hasattr(
            dataset, 'dataset'):
        dataset = dataset.dataset
    return getattr(dataset, 'ann_file', None) or None


class CollateNamingImages:
    """A collate function that, when the wrapped one fails on a batch whose
    inputs differ in shape, raises an error naming the odd image and its
    line in the split file (only then does it look).

    Args:
        collate_fn (Callable): The data loader's collate function.
        loader_name (str): E.g. ``'train_dataloader'``, for the message.
        ann_file (str, optional): The dataset's split file.
    """

    def __init__(self, collate_fn: Callable, loader_name: str,
                 ann_file: Optional[str]) -> None:
        self.collate_fn = collate_fn
        self.loader_name = loader_name
        self.ann_file = ann_file

    def __call__(self, data_batch: List[dict]):
        try:
            return self.collate_fn(data_batch)
        except RuntimeError as error:
            message = self._size_mismatch(data_batch)
            if message is None:
                raise
            raise ValueError(message) from error

    def _size_mismatch(self, data_batch: List[dict]) -> Optional[str]:
        shapes = [
            tuple(item['inputs'].shape) if isinstance(item, dict)
            and torch.is_tensor(item.get('inputs')) else None
            for item in data_batch
        ]
        if None in shapes or len(set(shapes)) < 2:
            return None
        common, _ = Counter(shapes).most_common(1)[0]
        odd = [i for i, shape in enumerate(shapes) if shape != common]
        samples = data_batch[odd[0]].get('data_samples')
        img_path = getattr(samples, 'img_path', None)
        if img_path is None:
            where = f'sample {getattr(samples, "sample_idx", "?")}'
        else:
            line = self.ann_file and split_line_of(self.ann_file, img_path)
            where = f'image {img_path!r}' + (f' ({self.ann_file}, line {line})'
                                             if line else '')
        return (f'{self.loader_name}: {where} gives inputs of shape '
                f'{shapes[odd[0]]}, but {len(shapes) - len(odd)} of the '
                f'{len(shapes)} images of its batch give {common}: a batch '
                'stacks images of one size. Resize in the pipeline (e.g. '
                "dict(type='Resize', scale=...) or a crop) or replace the "
                'image')


@HOOKS.register_module()
class ImageSizeCheckHook(Hook):
    """Make a batch of images of different sizes fail with the name of the
    odd image and its line in the split file.

    Without a resize in the pipeline, one image of another size makes the
    data loader's collate function fail deep in ``torch.stack``, naming no
    file. This hook wraps the collate function of the training, validation
    and test data loaders; the wrapper only looks when collating fails.
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        self._wrap(runner.train_dataloader, 'train_dataloader')

    def before_val(self, runner) -> None:
        self._wrap(runner.val_loop.dataloader, 'val_dataloader')

    def before_test(self, runner) -> None:
        self._wrap(runner.test_loop.dataloader, 'test_dataloader')

    @staticmethod
    def _wrap(dataloader, loader_name: str) -> None:
        collate_fn = getattr(dataloader, 'collate_fn', None)
        if collate_fn is None or isinstance(collate_fn, CollateNamingImages):
            return
        dataloader.collate_fn = CollateNamingImages(
            collate_fn, loader_name, _ann_file(dataloader.dataset))
