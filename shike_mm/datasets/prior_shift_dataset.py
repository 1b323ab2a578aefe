"""A balanced test split re-sampled to another class prior (the
test-agnostic protocol of SADE)."""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmpretrain.registry import DATASETS

from .subset_wrapper import SubsetWrapper

#: The 11 test priors of SADE's test-agnostic protocol (Zhang et al.,
#: NeurIPS 2022), by name, as the imbalance factor ``rho`` of
#: :func:`prior_shift_counts`: forward long-tailed (the training's head
#: classes are the most frequent), uniform, backward long-tailed.
TEST_PRIORS: Dict[str, float] = {
    'forward50': 50,
    'forward25': 25,
    'forward10': 10,
    'forward5': 5,
    'forward2': 2,
    'uniform': 1,
    'backward2': 1 / 2,
    'backward5': 1 / 5,
    'backward10': 1 / 10,
    'backward25': 1 / 25,
    'backward50': 1 / 50,
}


def prior_shift_counts(n_max: int, num_classes: int,
                       imb_factor: float) -> List[int]:
    """Test images per class rank (rank 0 = the most training images).

    ``rho = imb_factor >= 1`` (forward): rank ``r`` keeps
    ``int(n_max * (1 / rho) ** (r / (C - 1)))``; ``rho < 1`` (backward):
    ``int(n_max * rho ** ((C - 1 - r) / (C - 1)))``. ``rho = 1`` keeps
    ``n_max`` everywhere. This is the CIFAR-LT profile SADE uses for its
    test splits (with ``reverse`` for backward).

    Args:
        n_max (int): Images of the most frequent rank.
        num_classes (int): ``C``.
        imb_factor (float): ``rho > 0``, e.g. 50 or 1 / 50.

    Returns:
        list[int]: ``C`` counts by rank.
    """
    if not imb_factor > 0 or n_max < 1 or num_classes < 1:
        raise ValueError(
            f'prior_shift_counts needs imb_factor > 0, n_max >= 1 and '
            f'num_classes >= 1, got {imb_factor}, {n_max}, {num_classes}')
    last = max(num_classes - 1, 1)
    if imb_factor >= 1:
        ratio = 1 / imb_factor
        return [
            int(n_max * ratio**(rank / last)) for rank in range(num_classes)
        ]
    return [
        int(n_max * imb_factor**((num_classes - 1 - rank) / last))
        for rank in range(num_classes)
    ]


def prior_shift_indices(labels: Sequence[int],
                        imb_factor: float,
                        num_classes: int,
                        class_order: Optional[Sequence[int]] = None,
                        seed: int = 0) -> np.ndarray:
    """Indices of a test split re-sampled to the prior of ``imb_factor``.

    ``n_max`` is the smallest class's number of test images (all of them
    for a balanced split), so every class can give its count
    (:func:`prior_shift_counts`). Each class draws its images without
    replacement from one permutation of ``np.random.RandomState(seed)``,
    class 0 first: with the same seed, a class's images under a smaller
    count are a subset of those under a larger one.

    Args:
        labels (Sequence[int]): ``[N]`` labels of the test split.
        imb_factor (float): ``rho`` (see :data:`TEST_PRIORS`).
        num_classes (int): ``C``.
        class_order (Sequence[int], optional): The classes from the most
            to the fewest training images. Defaults to None (class index
            order, as CIFAR-LT builds its training split).
        seed (int): Seed of the draw. Defaults to 0.

    Returns:
        np.ndarray: Sorted indices into ``labels``.

    Raises:
        ValueError: If a class has no test image or ``class_order`` is not
            a permutation of the classes.
    """
    labels = np.asarray(labels, dtype=np.int64)
    available = np.bincount(labels, minlength=num_classes)
    if len(available) != num_classes or available.min() < 1:
        raise ValueError(
            f'Re-sampling to a test prior needs test images of each of the '
            f'{num_classes} classes, got per-class counts '
            f'{available.tolist()}')
    order = np.arange(num_classes) if class_order is None else np.asarray(
        class_order, dtype=np.int64)
    if sorted(order.tolist()) != list(range(num_classes)):
        raise ValueError(f'class_order must list each of the {num_classes} '
                         f'classes once, got {list(order)}')
    counts = np.empty(num_classes, dtype=np.int64)
    counts[order] = prior_shift_counts(
        int(available.min()), num_classes, imb_factor)
    rng = np.random.RandomState(seed)
    chosen = []
    for label in range(num_classes):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        chosen.append(members[:counts[label]])
    return np.sort(np.concatenate(chosen))


def class_order_from_counts(train_counts: Sequence[int]) -> List[int]:
    """The classes from the most to the fewest training images (ties in
    index order)."""
    counts = np.asarray(train_counts)
    return np.lexsort((np.arange(len(counts)), -counts)).tolist()


@DATASETS.register_module()
class PriorShiftDataset(SubsetWrapper):
    """A (balanced) test split re-sampled to a long-tailed test prior.

    Serves the samples :func:`prior_shift_indices` chooses: forward
    long-tailed for ``imb_factor > 1``, the smallest class's count for
    every class at 1, backward long-tailed below 1. The draw is seeded, so
    the same arguments give the same samples. ``class_counts`` gives the
    served samples per class.

    Args:
        dataset (dict | Dataset): The test split, or its config.
        imb_factor (float | str): ``rho`` or a name of
            :data:`TEST_PRIORS` (``'forward50'``, ..., ``'backward50'``).
        class_order (Sequence[int], optional): Classes from the most to the
            fewest training images. Defaults to None (index order; pass
            :func:`class_order_from_counts` of the training counts when
            class 0 is not the head).
        seed (int): Seed of the draw. Defaults to 0.
    """

    def __init__(self,
                 dataset: Union[dict, object],
                 imb_factor: Union[float, str],
                 class_order: Optional[Sequence[int]] = None,
                 seed: int = 0) -> None:
        super().__init__(dataset)
        if isinstance(imb_factor, str):
            if imb_factor not in TEST_PRIORS:
                raise ValueError(
                    f'PriorShiftDataset.imb_factor={imb_factor!r} is not '
                    f'one of {list(TEST_PRIORS)}')
            imb_factor = TEST_PRIORS[imb_factor]
        self.imb_factor = imb_factor
        self.seed = seed
        num_classes = len(self.dataset.metainfo['classes'])
        self.choose(
            prior_shift_indices(self.wrapped_labels(), imb_factor, num_classes,
                                class_order, seed))
        self.class_counts = np.bincount(
            self.get_gt_labels(), minlength=num_classes).tolist()
