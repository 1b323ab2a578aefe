"""The one way to count the training images of each class."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import ClassBalancedDataset, ConcatDataset, RepeatDataset
from mmpretrain.registry import DATASETS

#: Checkpoint ``meta`` key of the counts a model was trained on.
COUNTS_META_KEY = 'train_class_counts'


def dataset_labels(dataset) -> np.ndarray:
    """The ground-truth label of every sample, in index order.

    Args:
        dataset: An MMPretrain dataset or an MMEngine dataset wrapper.

    Returns:
        np.ndarray: ``len(dataset)`` integer labels.
    """
    if hasattr(dataset, 'get_gt_labels'):
        labels = dataset.get_gt_labels()
    else:
        labels = [
            dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))
        ]
    return np.asarray(labels, dtype=np.int64).reshape(len(dataset))


def describe_dataset(dataset) -> str:
    """A short name of a dataset for messages: its type and, when it has
    them, its split file or data root."""
    name = type(dataset).__name__
    for attribute in ('ann_file', 'data_root'):
        value = getattr(dataset, attribute, None)
        if value:
            return f'{name} ({attribute}={value!r})'
    return name


def empty_classes_message(counts) -> Optional[str]:
    """Say which classes have a zero count, or None when all have images.

    Args:
        counts (Sequence[int]): Per-class training counts.

    Returns:
        str | None: E.g. ``'2 of 5 classes have no training image (class 3,
        4); every class needs at least one'``.
    """
    counts = np.asarray(counts)
    empty = np.flatnonzero(counts == 0)
    if not len(empty):
        return None
    shown = ', '.join(str(c) for c in empty[:10])
    if len(empty) > 10:
        shown += f' and {len(empty) - 10} more'
    return (f'{len(empty)} of {len(counts)} classes have no training image '
            f'(class {shown}); every class needs at least one')


def _count(dataset) -> np.ndarray:
    if isinstance(dataset, (RepeatDataset, ClassBalancedDataset)):
        return _count(dataset.dataset)
    if isinstance(dataset, ConcatDataset):
        parts = [_count(d) for d in dataset.datasets]
        if len({len(p) for p in parts}) != 1:
            raise ValueError('ConcatDataset parts have different numbers '
                             f'of classes: {[len(p) for p in parts]}')
        return np.sum(parts, axis=0)
    classes = dataset.metainfo.get('classes') or ()
    return np.bincount(dataset_labels(dataset), minlength=len(classes))


def get_train_class_counts(dataset) -> List[int]:
    """Per-class image counts of a training dataset as it was built.

    The labels of the samples the dataset holds are counted, with one entry
    per class of its ``classes`` metainfo. ``RepeatDataset`` and
    ``ClassBalancedDataset`` are unwrapped (the counts are those of the
    original data, not of the repeated epoch); ``ConcatDataset`` sums its
    parts.

    Args:
        dataset: The training dataset (any MMPretrain dataset or MMEngine
            dataset wrapper).

    Returns:
        list[int]: One positive count per class.

    Raises:
        ValueError: If a class has no training image, since no long-tailed
            method can weigh or group a class it never saw.
    """
    counts = _count(dataset)
    problem = empty_classes_message(counts)
    if problem:
        raise ValueError(f'{describe_dataset(dataset)}: {problem}')
    return counts.tolist()


def trained_class_counts(
        stored: Optional[Sequence[int]],
        train_dataset_cfg: Optional[dict]) -> Tuple[List[int], str]:
    """The per-class counts a checkpoint was trained on, for evaluating it.

    Args:
        stored (Sequence[int], optional): The counts stored in the
            checkpoint's ``meta['train_class_counts']``, if any.
        train_dataset_cfg (dict, optional): The config's
            ``train_dataloader.dataset``, counted when nothing is stored
            (checkpoints written before the counts were stored, or
            converted from other code).

    Returns:
        tuple[list[int], str]: The counts and where they come from.

    Raises:
        ValueError: If there is neither, or the training dataset cannot be
            built and counted.
    """
    if stored is not None:
        return [int(c) for c in stored], 'the checkpoint it was trained on'
    if train_dataset_cfg is None:
        raise ValueError(
            'The checkpoint stores no training class counts and the config '
            'has no train_dataloader.dataset to count; set class_counts of '
            'the LongTailMetric')
    try:
        dataset = DATASETS.build(train_dataset_cfg)
        counts = get_train_class_counts(dataset)
    except Exception as error:
        raise ValueError(
            'The checkpoint stores no training class counts, and counting '
            'train_dataloader.dataset of the config failed '
            f'({type(error).__name__}: {error}); make the training split '
            'readable or set class_counts of the LongTailMetric') from error
    return counts, (f'the training dataset {describe_dataset(dataset)} '
                    '(train_dataloader.dataset; the checkpoint stores no '
                    'counts)')
