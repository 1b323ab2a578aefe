"""Long-tailed handwritten digits from scikit-learn: real data that needs no
download."""
from numbers import Integral, Real
from typing import List, Tuple

import numpy as np
from mmcv import imresize
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .cifar_lt import long_tail_counts, subset_fingerprint

SPLITS = ('train', 'test')
#: Default side of the square images the dataset serves.
IMAGE_SIZE = 32
#: Side of scikit-learn's digit images.
DIGITS_SIZE = 8
#: Largest pixel value of ``sklearn.datasets.load_digits``.
DIGITS_MAX_VALUE = 16.0


def load_sklearn_digits() -> Tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 digit images (values 0..16) bundled with scikit-learn.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``[N, 8, 8]`` float images and their
        ``[N]`` integer labels 0..9.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError(
            'DigitsLT reads the digits bundled with scikit-learn, which is '
            'not installed: pip install scikit-learn (or install shike-mm '
            'with the "demo" extra: pip install -e ".[demo]")') from error
    digits = load_digits()
    return digits.images, digits.target.astype(np.int64)


def to_rgb_uint8(image: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Rescale a 0..16 digit to 0..255, resize it bilinearly to
    ``size x size`` and repeat it on 3 channels.

    Args:
        image (np.ndarray): One ``[8, 8]`` digit.
        size (int): Output side. Defaults to 32.

    Returns:
        np.ndarray: ``[size, size, 3]`` uint8 image.
    """
    scaled = image.astype(np.float32) * (255.0 / DIGITS_MAX_VALUE)
    resized = imresize(scaled, (size, size), interpolation='bilinear')
    gray = np.clip(np.rint(resized), 0, 255).astype(np.uint8)
    return np.repeat(gray[:, :, None], 3, axis=2)


@DATASETS.register_module()
class DigitsLT(BaseDataset):
    """Long-tailed handwritten digits (scikit-learn's ``load_digits``).

    The 1,797 real 8x8 images of the digits 0-9 ship with scikit-learn, so
    this dataset works offline and needs no ``data_root``. The split is
    drawn once per ``split_seed``:

    - every class is shuffled with one ``np.random.RandomState(split_seed)``
      (class 0 first, then 1, ...);
    - the first ``test_per_class`` images of each class form the balanced
      ``'test'`` split;
    - the remaining images form the training pool; class ``i`` keeps the
      first ``n_i = int(n_max * (1 / imb_factor) ** (i / 9))`` of them
      (the CIFAR-LT profile, :func:`long_tail_counts`), where ``n_max`` is
      the size of the smallest pool class (124 with the defaults).

    With the defaults the training split holds 417 images, from 124 (digit
    0) down to 6 (digit 9). Images are served in memory as ``img`` arrays,
    like MMPretrain's CIFAR: ``image_size x image_size x 3`` uint8 (the
    0..16 values rescaled to 0..255, resized bilinearly and repeated on
    three channels), so the pipeline needs no ``LoadImageFromFile``. The
    three channels are the same grey image, so their order does not
    matter. Digits are light strokes on a dark background.

    Args:
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        imb_factor (float): Head / tail ratio of the training split, from 1
            to the smallest pool (124 with the defaults), so that every
            digit keeps a training image. Defaults to 20.
        test_per_class (int): Held-out test images per class, from 1 to
            173 (the smallest class has 174 images). Defaults to 50.
        split_seed (int): Seed of the class shuffles that choose the test
            images and the kept training images. Defaults to 0.
        image_size (int): Side of the served images, >= 8 (the digits'
            own size). Defaults to 32.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``indices``, ...).
    """

    METAINFO = {'classes': tuple(str(digit) for digit in range(10))}

    def __init__(self,
                 split: str = 'train',
                 imb_factor: float = 20,
                 test_per_class: int = 50,
                 split_seed: int = 0,
                 image_size: int = IMAGE_SIZE,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(
                f'DigitsLT: split must be one of {SPLITS}, got {split!r}')
        if (isinstance(imb_factor, bool) or not isinstance(imb_factor, Real)
                or not imb_factor >= 1):
            raise ValueError('DigitsLT: imb_factor must be a number >= 1 '
                             f'(head / tail ratio), got {imb_factor!r}')
        if (isinstance(test_per_class, bool)
                or not isinstance(test_per_class, Integral)
                or test_per_class < 1):
            raise ValueError('DigitsLT: test_per_class must be a positive '
                             f'integer, got {test_per_class!r}')
        if (isinstance(image_size, bool)
                or not isinstance(image_size, Integral)
                or image_size < DIGITS_SIZE):
            raise ValueError('DigitsLT: image_size must be an integer >= '
                             f'{DIGITS_SIZE}, got {image_size!r}')
        self.split = split
        self.image_size = int(image_size)
        self.imb_factor = imb_factor
        self.test_per_class = int(test_per_class)
        self.split_seed = split_seed
        self.subset_fingerprint = None
        super().__init__(ann_file='', **kwargs)

    @property
    def num_classes(self) -> int:
        """Number of digit classes (10)."""
        return len(self.METAINFO['classes'])

    def load_data_list(self) -> List[dict]:
        """Split the digits and keep the requested split's images."""
        images, labels = load_sklearn_digits()
        test_indices, pool = self._split_classes(labels)
        if self.split == 'test':
            chosen = test_indices
        else:
            counts = self._long_tail_counts(pool)
            chosen = np.sort(
                np.concatenate(
                    [members[:count] for members, count in zip(pool, counts)]))
            self.subset_fingerprint = subset_fingerprint(chosen)
            print_log(
                f'DigitsLT: imb_factor={self.imb_factor}, '
                f'test_per_class={self.test_per_class}, '
                f'split_seed={self.split_seed}: {len(chosen)} training '
                f'images, subset fingerprint {self.subset_fingerprint}, '
                f'per-class counts {counts}',
                logger='current')
        return [
            dict(
                img=to_rgb_uint8(images[i], self.image_size),
                gt_label=int(labels[i])) for i in chosen
        ]

    def _long_tail_counts(self, pool: List[np.ndarray]) -> List[int]:
        """The exponential profile on the smallest training pool; a class
        left without images is refused."""
        n_max = min(len(members) for members in pool)
        counts = long_tail_counts(n_max, self.num_classes, self.imb_factor)
        if min(counts) == 0:
            first, last = counts.index(0), self.num_classes - 1
            digits = f'digit {last}' if first == last \
                else f'digits {first}..{last}'
            raise ValueError(
                f'DigitsLT: imb_factor={self.imb_factor} on {n_max} training '
                f'images per digit leaves {digits} without a training image; '
                f'use imb_factor <= {n_max}')
        return counts

    def _split_classes(
            self, labels: np.ndarray) -> Tuple[np.ndarray, List[np.ndarray]]:
        """Sorted test indices, and each class's shuffled training pool."""
        rng = np.random.RandomState(self.split_seed)
        test, pool = [], []
        for label in range(self.num_classes):
            members = np.flatnonzero(labels == label)
            if self.test_per_class >= len(members):
                raise ValueError(
                    f'DigitsLT: test_per_class={self.test_per_class} leaves '
                    f'no training image for digit {label}, which has '
                    f'{len(members)} images; use at most {len(members) - 1}')
            rng.shuffle(members)
            test.append(members[:self.test_per_class])
            pool.append(members[self.test_per_class:])
        return np.sort(np.concatenate(test)), pool

    def extra_repr(self) -> List[str]:
        """Split settings shown by ``repr(dataset)``."""
        return [
            f'Split: \t{self.split}',
            f'Imbalance factor: \t{self.imb_factor}',
            f'Test images per class: \t{self.test_per_class}',
            f'Split seed: \t{self.split_seed}',
            f'Image size: \t{self.image_size}',
        ]
