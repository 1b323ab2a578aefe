"""Long-tailed CIFAR-10/100 built from MMPretrain's CIFAR datasets."""
import hashlib
import os
import os.path as osp
import shutil
from numbers import Real
from typing import List, Sequence

import numpy as np
from mmengine.fileio import LocalBackend, get_file_backend, join_path
from mmengine.logging import print_log
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.registry import DATASETS

SUBSET_RULES = ('first', 'shuffle')
CHANNEL_ORDERS = ('bgr', 'rgb')
#: Metainfo key naming the channel order of the ``img`` arrays a dataset
#: serves (datasets read by ``LoadImageFromFile`` are BGR without it).
CHANNEL_ORDER = 'channel_order'


def long_tail_counts(n_max: int, num_classes: int,
                     imb_factor: float) -> List[int]:
    """Exponential profile ``n_i = int(n_max * (1 / imb_factor) ** (i / (C -
    1)))``; class 0 is the head, class ``C - 1`` keeps ``n_max /
    imb_factor``.

    Args:
        n_max (int): Images of the head class.
        num_classes (int): Number of classes ``C`` (at least 2).
        imb_factor (float): Ratio between the head and the tail class.

    Returns:
        list[int]: ``C`` per-class counts.
    """
    return [
        int(n_max * (1.0 / imb_factor)**(i / (num_classes - 1.0)))
        for i in range(num_classes)
    ]


def subset_fingerprint(indices: Sequence[int]) -> str:
    """First 12 hex characters of the SHA-1 of the sorted, comma-separated
    indices, e.g. ``'0,3,7'``. Any codebase can compute it for its subset."""
    text = ','.join(str(int(i)) for i in sorted(indices))
    return hashlib.sha1(text.encode('ascii')).hexdigest()[:12]


class LongTailCIFARMixin:
    """Turns a balanced CIFAR dataset into its long-tailed version.

    The training split keeps :func:`long_tail_counts` images per class (a
    profile that leaves a class without images is refused); the test split
    stays balanced.

    Images are served in ``channel_order`` (BGR by default, the order
    ``LoadImageFromFile`` gives and mmcv's colour transforms assume; pair it
    with ``to_rgb=True`` in the data preprocessor), recorded as
    ``metainfo['channel_order']``.
    """

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 imb_factor: float = 100,
                 subset_rule: str = 'first',
                 subset_seed: int = 0,
                 channel_order: str = 'bgr',
                 **kwargs):
        name = type(self).__name__
        if (isinstance(imb_factor, bool) or not isinstance(imb_factor, Real)
                or not imb_factor >= 1):
            raise ValueError(f'{name}: imb_factor must be a number >= 1 '
                             f'(head / tail ratio), got {imb_factor!r}')
        if subset_rule not in SUBSET_RULES:
            raise ValueError(f'{name}: subset_rule must be one of '
                             f'{SUBSET_RULES}, got {subset_rule!r}')
        if channel_order not in CHANNEL_ORDERS:
            raise ValueError(f'{name}: channel_order must be one of '
                             f'{CHANNEL_ORDERS}, got {channel_order!r}')
        self.imb_factor = imb_factor
        self.channel_order = channel_order
        self.subset_rule = subset_rule
        self.subset_seed = subset_seed
        self.subset_fingerprint = None
        super().__init__(data_root=data_root, split=split, **kwargs)

    @property
    def num_classes(self) -> int:
        """Number of CIFAR classes (10 or 100)."""
        return len(self.METAINFO['classes'])

    def load_data_list(self) -> List[dict]:
        """Load the split, keeping the long-tailed subset of the training
        split."""
        data_list = self._read_cifar_files()
        if self.split == 'train':
            train_labels = np.array([d['gt_label'] for d in data_list])
            counts = self._long_tail_counts(train_labels)
            chosen = self._choose_subset(train_labels, counts)
            self.subset_fingerprint = subset_fingerprint(chosen)
            data_list = [data_list[i] for i in chosen]
            seed = (f', subset_seed={self.subset_seed}'
                    if self.subset_rule == 'shuffle' else '')
            print_log(
                f'{type(self).__name__}: imb_factor={self.imb_factor}, '
                f'subset_rule={self.subset_rule}{seed}: {len(data_list)} '
                f'training images, subset fingerprint '
                f'{self.subset_fingerprint}, per-class counts {counts}',
                logger='current')
        self._metainfo[CHANNEL_ORDER] = self.channel_order
        if self.channel_order == 'bgr':
            # MMPretrain's CIFAR arrays are RGB.
            for info in data_list:
                info['img'] = np.ascontiguousarray(info['img'][..., ::-1])
        return data_list

    def _read_cifar_files(self) -> List[dict]:
        """MMPretrain's CIFAR loading (and download, when asked), with one
        clear message when the files are missing or the download fails, and
        nothing of a failed download left behind."""
        root = self.data_prefix['root']
        if not isinstance(get_file_backend(root), LocalBackend):
            return super().load_data_list()
        # The folders a download would create, outermost first.
        new_dirs = [osp.join(root, self.base_folder)]
        while not osp.exists(new_dirs[0]) and osp.dirname(
                new_dirs[0]) != new_dirs[0]:
            new_dirs.insert(0, osp.dirname(new_dirs[0]))
        new_dirs = [d for d in new_dirs if not osp.exists(d)]
        archive = osp.join(root, self.filename)
        had_archive = osp.exists(archive)
        try:
            return super().load_data_list()
        except Exception as error:
            if self._check_integrity():
                raise  # the files are there; something else is wrong
            if not had_archive and osp.isfile(archive):
                os.remove(archive)
            if new_dirs:
                shutil.rmtree(new_dirs[0], ignore_errors=True)
            names = [f for f, _ in self.train_list + self.test_list]
            names.append(self.meta['filename'])
            expected = ', '.join(names)
            attempt = (f'downloading {self.url} failed ({type(error).__name__}'
                       f': {error})' if self.download else 'download=False')
            raise RuntimeError(
                f'{type(self).__name__}: no CIFAR data in '
                f'{osp.join(root, self.base_folder)} (expected {expected}) '
                f'and {attempt}. Download {self.url} (md5 {self.tgz_md5}) '
                f'and extract it into {root}, or point data_root at the '
                'folder that holds it') from None

    def _train_file(self, file_name: str) -> str:
        return join_path(self.data_prefix['root'], self.base_folder, file_name)

    def _long_tail_counts(self, train_labels: np.ndarray) -> List[int]:
        """Check the full training split and apply the exponential profile
        to its per-class size."""
        files = ', '.join(self._train_file(f) for f, _ in self.train_list)
        num_classes = self.num_classes
        if train_labels.min() < 0 or train_labels.max() >= num_classes:
            raise ValueError(
                f'{type(self).__name__}: {files} holds labels in '
                f'[{train_labels.min()}, {train_labels.max()}], expected '
                f'{num_classes} classes [0, {num_classes})')
        full_counts = np.bincount(train_labels, minlength=num_classes)
        if full_counts.min() == 0:
            raise ValueError(
                f'{type(self).__name__}: {files} has images of only '
                f'{np.count_nonzero(full_counts)} classes, expected '
                f'{num_classes}')
        # Real CIFAR is balanced; the smallest class bounds the head.
        counts = long_tail_counts(
            int(full_counts.min()), num_classes, self.imb_factor)
        if min(counts) == 0:
            empty = counts.index(0)
            raise ValueError(
                f'{type(self).__name__}: imb_factor={self.imb_factor} on '
                f'{int(full_counts.min())} images per class ({files}) '
                f'leaves classes {empty}..{num_classes - 1} without a '
                'training image; lower imb_factor or use more images per '
                'class')
        return counts

    def _choose_subset(self, train_labels: np.ndarray,
                       counts: List[int]) -> np.ndarray:
        """Indices (sorted, into the training files) of the kept images."""
        # One legacy RandomState shuffling the classes in turn reproduces
        # the LDAM-DRW / RIDE generator exactly.
        rng = np.random.RandomState(self.subset_seed)
        chosen = []
        for label, count in enumerate(counts):
            members = np.flatnonzero(train_labels == label)
            if self.subset_rule == 'shuffle':
                rng.shuffle(members)
            chosen.append(members[:count])
        return np.sort(np.concatenate(chosen))


@DATASETS.register_module()
class CIFAR10LT(LongTailCIFARMixin, CIFAR10):
    """Long-tailed CIFAR-10 (Cao et al. 2019; Cui et al. 2019).

    Class ``i`` keeps ``int(n_max * (1 / imb_factor) ** (i / 9))`` training
    images (``n_max`` = 5000 on the real data); the test split stays
    balanced. The per-class counts and a fingerprint of the chosen indices
    (see :func:`subset_fingerprint`) are logged.

    Args:
        data_root (str): Folder holding ``cifar-10-batches-py``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        imb_factor (float): Head / tail ratio, at least 1. Defaults to 100.
        subset_rule (str): ``'first'`` keeps the first ``n_i`` images of
            each class in file order (SHIKE's rule); ``'shuffle'`` keeps
            ``n_i`` images after shuffling each class with
            ``subset_seed`` (LDAM-DRW / RIDE's rule). Defaults to
            ``'first'``.
        subset_seed (int): Seed of the ``'shuffle'`` rule. Defaults to 0.
        channel_order (str): ``'bgr'`` (MMPretrain's convention for images
            in the pipeline; use ``to_rgb=True`` in the data preprocessor)
            or ``'rgb'`` (the order of the CIFAR files and of
            :class:`mmpretrain.datasets.CIFAR10`). Defaults to ``'bgr'``.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.CIFAR10`
            (``download``, ``pipeline``, ``test_mode``, ...).
    """


@DATASETS.register_module()
class CIFAR100LT(LongTailCIFARMixin, CIFAR100):
    """Long-tailed CIFAR-100 (Cao et al. 2019; Cui et al. 2019).

    Class ``i`` keeps ``int(n_max * (1 / imb_factor) ** (i / 99))`` training
    images (``n_max`` = 500 on the real data: 10,847 images for
    ``imb_factor=100``); the test split stays balanced. The per-class
    counts and a fingerprint of the chosen indices (see
    :func:`subset_fingerprint`) are logged.

    Args:
        data_root (str): Folder holding ``cifar-100-python``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        imb_factor (float): Head / tail ratio, at least 1. Defaults to 100.
        subset_rule (str): ``'first'`` keeps the first ``n_i`` images of
            each class in file order (SHIKE's rule); ``'shuffle'`` keeps
            ``n_i`` images after shuffling each class with
            ``subset_seed`` (LDAM-DRW / RIDE's rule). Defaults to
            ``'first'``.
        subset_seed (int): Seed of the ``'shuffle'`` rule. Defaults to 0.
        channel_order (str): ``'bgr'`` (MMPretrain's convention for images
            in the pipeline; use ``to_rgb=True`` in the data preprocessor)
            or ``'rgb'`` (the order of the CIFAR files and of
            :class:`mmpretrain.datasets.CIFAR100`). Defaults to ``'bgr'``.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.CIFAR100`
            (``download``, ``pipeline``, ``test_mode``, ...).
    """
