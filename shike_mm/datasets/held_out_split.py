"""A seeded, stratified part of a training split held out for fitting
post-hoc parameters (a calibration temperature) on unseen images."""
from typing import Sequence, Union

import numpy as np
from mmpretrain.registry import DATASETS

from .subset_wrapper import SubsetWrapper

PARTS = ('train', 'held_out')


def held_out_indices(labels: Sequence[int], fraction: float,
                     seed: int) -> np.ndarray:
    """Sorted indices of the held-out part of a split.

    Class ``c`` with ``n_c`` images holds out ``round(fraction * n_c)`` of
    them (halves round up), but always keeps one for training; its images
    are drawn from one permutation of ``np.random.RandomState(seed)``,
    class 0 first.

    Args:
        labels (Sequence[int]): ``[N]`` labels of the split.
        fraction (float): In ``[0, 1)``.
        seed (int): Seed of the draw.

    Returns:
        np.ndarray: Sorted indices into ``labels``.
    """
    if not 0 <= fraction < 1:
        raise ValueError(
            f'HeldOutSplit.fraction must be in [0, 1), got {fraction}')
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.RandomState(seed)
    held_out = []
    for label in range(labels.max() + 1):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        count = min(
            int(np.floor(fraction * len(members) + 0.5)),
            max(len(members) - 1, 0))
        held_out.append(members[:count])
    return np.sort(np.concatenate(held_out))


@DATASETS.register_module()
class HeldOutSplit(SubsetWrapper):
    """Hold a seeded, stratified part of a dataset out of training.

    Train on ``part='train'`` (the rest); ``tools/analysis_tools/
    calibrate.py`` fits its temperature on ``part='held_out'`` of the same
    arguments, images the model never saw. Both parts keep the dataset's
    class proportions up to rounding (:func:`held_out_indices`).

    Args:
        dataset (dict | Dataset): The split, or its config.
        part (str): ``'train'`` or ``'held_out'``. Defaults to ``'train'``.
        fraction (float): Part of each class held out. Defaults to 0.2.
        seed (int): Seed of the draw. Defaults to 0.
    """

    def __init__(self,
                 dataset: Union[dict, object],
                 part: str = 'train',
                 fraction: float = 0.2,
                 seed: int = 0) -> None:
        if part not in PARTS:
            raise ValueError(
                f'HeldOutSplit.part must be one of {PARTS}, got {part!r}')
        super().__init__(dataset)
        self.part = part
        self.fraction = fraction
        self.seed = seed
        labels = self.wrapped_labels()
        held_out = held_out_indices(labels, fraction, seed)
        if part == 'train':
            self.choose(np.setdiff1d(np.arange(len(labels)), held_out))
        else:
            self.choose(held_out)
