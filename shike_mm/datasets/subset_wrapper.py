"""A dataset wrapper that serves some of a dataset's samples."""
import copy
from typing import Sequence, Union

import numpy as np
from mmpretrain.registry import DATASETS

from .class_counts import dataset_labels


class SubsetWrapper:
    """Serve the samples ``indices`` of ``dataset``, in that order.

    The base of the wrappers that choose the indices from the labels
    (:class:`PriorShiftDataset`, :class:`HeldOutSplit`); it counts like any
    dataset in :func:`~shike_mm.datasets.get_train_class_counts`.

    Args:
        dataset (dict | Dataset): The dataset, or its config.
    """

    def __init__(self, dataset: Union[dict, object]) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset,
                                                             dict) else dataset
        self.indices = np.arange(0)

    def choose(self, indices: Sequence[int]) -> None:
        """Serve ``indices`` of the wrapped dataset."""
        self.indices = np.asarray(indices, dtype=np.int64)

    def wrapped_labels(self) -> np.ndarray:
        """The labels of every sample of the wrapped dataset."""
        return dataset_labels(self.dataset)

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information."""
        return copy.deepcopy(self.dataset.metainfo)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: int) -> dict:
        return self.dataset[int(self.indices[idx])]

    def get_data_info(self, idx: int) -> dict:
        """The wrapped dataset's annotation of sample ``idx``."""
        return self.dataset.get_data_info(int(self.indices[idx]))

    def get_gt_labels(self) -> np.ndarray:
        """The ``[N]`` labels of the served samples."""
        return self.wrapped_labels()[self.indices]
