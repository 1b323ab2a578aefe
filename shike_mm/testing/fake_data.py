"""Fake CIFAR pickles and tiny image folders with split files."""
import contextlib
import os
import os.path as osp
import pickle
from typing import Dict, Iterator, List, Sequence

import numpy as np

CIFAR_SIZE = 32
CIFAR_LAYOUT = {
    # kind: (folder, train files, test file, meta file, label key, classes)
    'cifar10':
    ('cifar-10-batches-py', [f'data_batch_{i}' for i in range(1, 6)],
     'test_batch', 'batches.meta', 'labels', 10),
    'cifar100':
    ('cifar-100-python', ['train'], 'test', 'meta', 'fine_labels', 100),
}


def _interleaved_labels(num_classes: int, per_class: int,
                        rng: np.random.Generator) -> np.ndarray:
    """Labels with ``per_class`` images of each class in a shuffled file
    order, as in the real CIFAR files."""
    labels = np.repeat(np.arange(num_classes), per_class)
    rng.shuffle(labels)
    return labels


def smooth_images(num_images: int, size: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Natural-looking ``[N, size, size, 3]`` uint8 RGB images: a colour
    gradient plus a few low-frequency waves per channel, so that
    resampling and interpolation change them little (unlike noise)."""
    coords = np.linspace(0.0, 1.0, size)
    y, x = np.meshgrid(coords, coords, indexing='ij')
    images = np.empty((num_images, size, size, 3), dtype=np.float64)
    for n in range(num_images):
        for c in range(3):
            base = rng.uniform(40, 215) + rng.uniform(
                -60, 60) * (x - 0.5) + rng.uniform(-60, 60) * (
                    y - 0.5)
            for _ in range(2):
                fx, fy = rng.uniform(0.5, 2.0, size=2)
                phase = rng.uniform(0, 2 * np.pi)
                base = base + rng.uniform(
                    10, 35) * np.sin(2 * np.pi * (fx * x + fy * y) + phase)
            images[n, :, :, c] = base
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def _split_pickles(labels: np.ndarray, label_key: str, num_files: int,
                   rng: np.random.Generator, batch_name: str,
                   smooth: bool) -> List[dict]:
    if smooth:
        # The CIFAR layout: each row is the image's R, G, B planes.
        pixels = smooth_images(len(labels), CIFAR_SIZE,
                               rng).transpose(0, 3, 1,
                                              2).reshape(len(labels), -1)
    else:
        pixels = rng.integers(
            0,
            256,
            size=(len(labels), 3 * CIFAR_SIZE * CIFAR_SIZE),
            dtype=np.uint8)
    entries = []
    for part, index in enumerate(
            np.array_split(np.arange(len(labels)), num_files)):
        entries.append({
            'batch_label': f'{batch_name} {part + 1} of {num_files}',
            'data': pixels[index],
            label_key: labels[index].tolist(),
            'filenames': [f'img_{i:06d}.png' for i in index],
        })
    return entries


def write_fake_cifar(root: str,
                     kind: str = 'cifar100',
                     train_per_class: int = 500,
                     test_per_class: int = 100,
                     seed: int = 0,
                     smooth: bool = False) -> str:
    """Write a fake ``cifar-100-python`` or ``cifar-10-batches-py`` folder.

    The pickles carry the real keys and label layout (uint8 RGB pixels,
    shuffled class order), so MMPretrain's CIFAR datasets read them as the
    real files. Their md5 sums differ from the real ones: wrap loading in
    :func:`bypass_cifar_md5`.

    Args:
        root (str): Folder that receives the dataset folder.
        kind (str): ``'cifar10'`` or ``'cifar100'``.
        train_per_class (int): Training images per class (500 is real
            CIFAR-100, 5000 real CIFAR-10).
        test_per_class (int): Test images per class.
        seed (int): Seed for pixels and file order.
        smooth (bool): Smooth, natural-looking images (see
            :func:`smooth_images`) instead of uniform noise. Defaults to
            False.

    Returns:
        str: ``root``, to be used as the dataset's ``data_root``.
    """
    if kind not in CIFAR_LAYOUT:
        raise ValueError(f'kind must be one of {sorted(CIFAR_LAYOUT)}, '
                         f'got {kind!r}')
    folder, train_files, test_file, meta_file, label_key, num_classes = \
        CIFAR_LAYOUT[kind]
    rng = np.random.default_rng(seed)
    base = osp.join(root, folder)
    os.makedirs(base, exist_ok=True)

    train = _split_pickles(
        _interleaved_labels(num_classes, train_per_class, rng), label_key,
        len(train_files), rng, 'training batch', smooth)
    test = _split_pickles(
        _interleaved_labels(num_classes, test_per_class, rng), label_key, 1,
        rng, 'testing batch', smooth)
    for name, entry in zip(train_files + [test_file], train + test):
        if kind == 'cifar100':
            entry['coarse_labels'] = [c // 5 for c in entry[label_key]]
        with open(osp.join(base, name), 'wb') as f:
            pickle.dump(entry, f)

    names = [f'class_{i}' for i in range(num_classes)]
    if kind == 'cifar100':
        meta = {
            'fine_label_names': names,
            'coarse_label_names': [f'super_{i}' for i in range(20)]
        }
    else:
        meta = {
            'label_names': names,
            'num_cases_per_batch': 10000,
            'num_vis': 3 * CIFAR_SIZE * CIFAR_SIZE
        }
    with open(osp.join(base, meta_file), 'wb') as f:
        pickle.dump(meta, f)
    return root


@contextlib.contextmanager
def bypass_cifar_md5() -> Iterator[None]:
    """Within the block, MMPretrain's CIFAR datasets skip their md5 checks
    (fake files only; real data keeps the checks)."""
    from mmpretrain.datasets import CIFAR10, CIFAR100
    saved = {}
    for cls in (CIFAR10, CIFAR100):
        saved[cls] = (cls.train_list, cls.test_list, cls.meta)
        cls.train_list = [[name, None] for name, _ in cls.train_list]
        cls.test_list = [[name, None] for name, _ in cls.test_list]
        cls.meta = dict(cls.meta, md5=None)
    try:
        yield
    finally:
        for cls, (train_list, test_list, meta) in saved.items():
            cls.train_list, cls.test_list, cls.meta = \
                train_list, test_list, meta


def write_image_folder(root: str,
                       split_files: Dict[str, Sequence[int]],
                       image_size: int = 16,
                       seed: int = 0,
                       image_dir: str = 'images') -> Dict[str, str]:
    """Write a tiny image-folder dataset with ``relative/path label`` splits.

    Args:
        root (str): Data root; images go under ``root/image_dir``.
        split_files (dict[str, Sequence[int]]): Split file name to the number
            of images of each class, e.g.
            ``{'ImageNet_LT_train.txt': [6, 3, 1]}``.
        image_size (int): Side of the square JPEG images.
        seed (int): Seed for the pixels.
        image_dir (str): Folder for the images, relative to ``root``.

    Returns:
        dict[str, str]: Split file name to its absolute path.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    written = {}
    for split_name, counts in split_files.items():
        stem = osp.splitext(split_name)[0]
        lines = []
        for label, count in enumerate(counts):
            class_dir = osp.join(image_dir, stem, f'class_{label:04d}')
            os.makedirs(osp.join(root, class_dir), exist_ok=True)
            for i in range(count):
                rel_path = osp.join(class_dir, f'{i:05d}.jpg')
                pixels = rng.integers(
                    0, 256, size=(image_size, image_size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(osp.join(root, rel_path))
                lines.append(f'{rel_path} {label}')
        path = osp.join(root, split_name)
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        written[split_name] = path
    return written
