"""Class-aware (class-balanced) sampling for data-parallel training."""
import math
from typing import Iterator, List, Optional, Sized

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from mmpretrain.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

from ..class_counts import dataset_labels

SAMPLING_MODES = ('balanced', 'sqrt', 'progressive')


@DATA_SAMPLERS.register_module()
class ClassAwareSampler(Sampler):
    """Draws a class, then an image of that class.

    Each epoch draws ``len(dataset)`` indices, like a plain shuffle, but
    class ``c`` is drawn with probability ``p_c``:

    - ``'balanced'``: ``p_c = 1 / C`` (class-balanced sampling);
    - ``'sqrt'``: ``p_c`` proportional to ``sqrt(n_c)``;
    - ``'progressive'``: moves linearly from instance-balanced
      (``p_c = n_c / N``) at epoch 0 to class-balanced at ``num_epochs``.

    Class ``c`` receives ``round(N * p_c)`` draws (largest remainders), so
    the class frequencies of an epoch are exact rather than random. Within
    a class the images are drawn from successive random permutations, so
    no image repeats before all images of its class have appeared.

    Under data parallelism the global list of the epoch is built from
    ``seed + epoch`` on every rank and rank ``r`` takes the disjoint shard
    ``r, r + world_size, ...``, with the length and round-up behaviour of
    MMEngine's ``DefaultSampler``. Call :meth:`set_epoch` before each epoch
    (MMEngine's ``DistSamplerSeedHook`` does).

    Args:
        dataset (Sized): Labelled dataset (MMPretrain dataset or MMEngine
            wrapper).
        shuffle (bool): Randomise the draws. If False, each class takes its
            images in index order and classes are interleaved round-robin,
            identically every epoch. Defaults to True.
        seed (int, optional): Base seed, identical on all ranks. Defaults to
            None (a random seed synchronised across ranks).
        round_up (bool): Pad the epoch list so it divides evenly among ranks,
            as ``DefaultSampler`` does. Defaults to True.
        mode (str): ``'balanced'``, ``'sqrt'`` or ``'progressive'``.
            Defaults to ``'balanced'``.
        num_epochs (int, optional): Epoch at which ``'progressive'`` becomes
            class-balanced; required by that mode only. Defaults to None.
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True,
                 mode: str = 'balanced',
                 num_epochs: Optional[int] = None) -> None:
        if mode not in SAMPLING_MODES:
            raise ValueError(f'ClassAwareSampler: mode must be one of '
                             f'{SAMPLING_MODES}, got {mode!r}')
        if mode == 'progressive' and not (isinstance(num_epochs, int)
                                          and num_epochs > 0):
            raise ValueError('ClassAwareSampler: mode="progressive" needs a '
                             f'positive int num_epochs, got {num_epochs!r}')
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.round_up = round_up
        self.mode = mode
        self.num_epochs = num_epochs
        self.epoch = 0

        labels = dataset_labels(dataset)
        if len(labels) == 0:
            raise ValueError('ClassAwareSampler: the dataset is empty')
        # Indices of each class present in the dataset, in index order.
        order = np.argsort(labels, kind='stable')
        boundaries = np.flatnonzero(np.diff(labels[order])) + 1
        self.class_indices: List[np.ndarray] = np.split(order, boundaries)
        self.class_sizes = np.array([len(m) for m in self.class_indices])

        if round_up:
            self.num_samples = math.ceil(len(labels) / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil(
                (len(labels) - self.rank) / self.world_size)
            self.total_size = len(labels)

    def class_probabilities(self, epoch: int) -> np.ndarray:
        """Probability of each present class (in label order) at
        ``epoch``."""
        sizes = self.class_sizes.astype(np.float64)
        balanced = np.full(len(sizes), 1.0 / len(sizes))
        if self.mode == 'balanced':
            return balanced
        if self.mode == 'sqrt':
            return np.sqrt(sizes) / np.sqrt(sizes).sum()
        progress = min(epoch / self.num_epochs, 1.0)
        return (1 - progress) * sizes / sizes.sum() + progress * balanced

    def _class_quotas(self, probabilities: np.ndarray) -> np.ndarray:
        """Split ``len(dataset)`` draws by largest remainders."""
        total = int(self.class_sizes.sum())
        exact = probabilities * total
        quotas = np.floor(exact).astype(np.int64)
        leftover = total - int(quotas.sum())
        quotas[np.argsort(quotas - exact, kind='stable')[:leftover]] += 1
        return quotas

    def epoch_indices(self) -> np.ndarray:
        """The global, unsharded index list of the current epoch."""
        rng = np.random.default_rng(self.seed + self.epoch)
        quotas = self._class_quotas(self.class_probabilities(self.epoch))
        draws, slots = [], []
        for members, quota in zip(self.class_indices, quotas):
            if quota == 0:
                continue
            if self.shuffle:
                rounds = np.tile(members, (math.ceil(quota / len(members)), 1))
                draws.append(rng.permuted(rounds, axis=1).ravel()[:quota])
            else:
                draws.append(np.resize(members, quota))
                # Spread each class evenly over the epoch.
                slots.append((np.arange(quota) + 0.5) / quota)
        indices = np.concatenate(draws)
        if self.shuffle:
            return rng.permutation(indices)
        return indices[np.argsort(np.concatenate(slots), kind='stable')]

    def __iter__(self) -> Iterator[int]:
        """Iterate over this rank's shard of the epoch."""
        indices = self.epoch_indices().tolist()
        if self.round_up:
            repeats = self.total_size // len(indices) + 1
            indices = (indices * repeats)[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        """Number of indices this rank yields per epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which seeds the draws and drives the
        ``'progressive'`` schedule.

        Args:
            epoch (int): Epoch number.
        """
        self.epoch = epoch
