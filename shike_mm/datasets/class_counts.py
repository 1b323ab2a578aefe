"""The one way to ask a dataset for its per-class training counts."""
from typing import List

import numpy as np
from mmengine.dataset import (ClassBalancedDataset, ConcatDataset,
                              RepeatDataset)

#: Metainfo key under which the long-tailed datasets store the per-class
#: image counts of their training split.
TRAIN_CLASS_COUNTS = 'train_class_counts'


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


def get_train_class_counts(dataset) -> List[int]:
    """Per-class image counts of the training split behind ``dataset``.

    Resolution order:

    - ``RepeatDataset`` and ``ClassBalancedDataset`` are unwrapped: the
      counts are those of the original data, not of the repeated epoch;
    - ``ConcatDataset`` sums the counts of its parts;
    - datasets with a ``get_train_class_counts()`` method (all datasets of
      this package, including their validation/test splits) answer
      themselves;
    - any other labelled dataset is counted with ``np.bincount`` over its
      labels, with one entry per class of its ``classes`` metainfo.

    Args:
        dataset: A training dataset, or an LT dataset of any split.

    Returns:
        list[int]: One count per class.
    """
    if isinstance(dataset, (RepeatDataset, ClassBalancedDataset)):
        return get_train_class_counts(dataset.dataset)
    if isinstance(dataset, ConcatDataset):
        parts = [get_train_class_counts(d) for d in dataset.datasets]
        if len({len(p) for p in parts}) != 1:
            raise ValueError('ConcatDataset parts have different numbers '
                             f'of classes: {[len(p) for p in parts]}')
        return np.sum(parts, axis=0).tolist()
    if hasattr(dataset, 'get_train_class_counts'):
        return list(dataset.get_train_class_counts())
    classes = dataset.metainfo.get('classes') or ()
    return np.bincount(
        dataset_labels(dataset), minlength=len(classes)).tolist()
