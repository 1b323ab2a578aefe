"""Every op of the CIFAR AutoAugment policy gives the official PIL op's
pixels, through the real chain: CIFAR100LT as the config builds it, the
config's transform, and the data preprocessor's channel conversion.

The reference is written here from the PIL operations of the official
``autoaugment.py`` (spec section 4), with the official magnitude ranges,
and never reads the config's magnitudes. Run this file as a script to
print the per-op table quoted in configs/shike/README.md.
"""
import os.path as osp
import pickle
import tempfile

import numpy as np
import pytest
from helpers import REPO_ROOT
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, TRANSFORMS
from official_cifar10_policy import OFFICIAL_POLICY
from PIL import Image, ImageEnhance, ImageOps

import shike_mm  # noqa: F401  (registers the datasets)
from shike_mm.testing import bypass_cifar_md5, write_fake_cifar

CONFIG = osp.join(REPO_ROOT, 'configs/shike/shike_r32_cifar100-lt-if100.py')
NUM_IMAGES = 64
TOLERANCE = 2.0  # mean |difference| per op, 0-255 scale
GREY = (128, 128, 128)

# The official sign that MMPretrain's positive magnitude reproduces: its
# affine ops map input to output coordinates, PIL's output to input.
OFFICIAL_SIGN_OF_POSITIVE = {
    'shearX': -1,
    'shearY': -1,
    'translateX': -1,
    'translateY': -1,
    'color': 1,
    'contrast': 1,
    'sharpness': 1,
    'brightness': 1
}


def official_op(img: np.ndarray, op: str, index: int, sign: int) -> np.ndarray:
    """The official CIFAR10Policy op on an RGB uint8 array."""
    pil = Image.fromarray(img)
    shear = np.linspace(0, 0.3, 10)[index] * sign
    shift = np.linspace(0, 150 / 331, 10)[index] * sign
    factor = 1 + np.linspace(0, 0.9, 10)[index] * sign
    if op == 'shearX':
        out = pil.transform(
            pil.size,
            Image.AFFINE, (1, shear, 0, 0, 1, 0),
            Image.BICUBIC,
            fillcolor=GREY)
    elif op == 'shearY':
        out = pil.transform(
            pil.size,
            Image.AFFINE, (1, 0, 0, shear, 1, 0),
            Image.BICUBIC,
            fillcolor=GREY)
    elif op == 'translateX':
        out = pil.transform(
            pil.size,
            Image.AFFINE, (1, 0, shift * pil.size[0], 0, 1, 0),
            fillcolor=GREY)
    elif op == 'translateY':
        out = pil.transform(
            pil.size,
            Image.AFFINE, (1, 0, 0, 0, 1, shift * pil.size[1]),
            fillcolor=GREY)
    elif op == 'rotate':
        rotated = pil.convert('RGBA').rotate(np.linspace(0, 30, 10)[index])
        out = Image.composite(rotated,
                              Image.new('RGBA', rotated.size, (128, ) * 4),
                              rotated).convert(pil.mode)
    elif op == 'color':
        out = ImageEnhance.Color(pil).enhance(factor)
    elif op == 'contrast':
        out = ImageEnhance.Contrast(pil).enhance(factor)
    elif op == 'sharpness':
        out = ImageEnhance.Sharpness(pil).enhance(factor)
    elif op == 'brightness':
        out = ImageEnhance.Brightness(pil).enhance(factor)
    elif op == 'posterize':
        bits = int(np.round(np.linspace(8, 4, 10), 0)[index])
        out = ImageOps.posterize(pil, bits)
    elif op == 'solarize':
        out = ImageOps.solarize(pil, np.linspace(256, 0, 10)[index])
    elif op == 'autocontrast':
        out = ImageOps.autocontrast(pil)
    elif op == 'equalize':
        out = ImageOps.equalize(pil)
    elif op == 'invert':
        out = ImageOps.invert(pil)
    else:
        raise KeyError(op)
    return np.asarray(out)


def _rgb_files_and_dataset_images(data_root: str, cfg: Config):
    """The first NUM_IMAGES training images as the CIFAR file holds them
    (RGB) and as the config's training dataset serves them."""
    with open(osp.join(data_root, 'cifar-100-python', 'train'), 'rb') as f:
        rows = pickle.load(f)['data'][:NUM_IMAGES]
    rgb = rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    # One image per class and imb_factor 1 keep every image in file order.
    dataset_cfg = dict(
        cfg.train_dataloader.dataset,
        data_root=data_root,
        imb_factor=1,
        pipeline=[])
    with bypass_cifar_md5():
        dataset = DATASETS.build(dataset_cfg)
    served = [dataset.get_data_info(i)['img'] for i in range(NUM_IMAGES)]
    return rgb, served


def measure_policy(data_root: str):
    """Mean |config op - official op| of every op and sign of the policy.

    Returns:
        list[tuple]: ``(sub_policy, transform type, official op, index,
        official sign, mean difference)`` rows.
    """
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(CONFIG)
    to_rgb = cfg.data_preprocessor.get('to_rgb', False)
    rgb, served = _rgb_files_and_dataset_images(data_root, cfg)
    (autoaugment, ) = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t.type == 'AutoAugment'
    ]
    rows = []
    for number, (sub_policy, official) in enumerate(
            zip(autoaugment.policies, OFFICIAL_POLICY), start=1):
        for transform, (op, index) in zip(sub_policy,
                                          [official[1:3], official[4:6]]):
            signs = (1, -1) if op in OFFICIAL_SIGN_OF_POSITIVE else (1, )
            for mm_sign in signs:
                forced = dict(transform, prob=1.0)
                if op in OFFICIAL_SIGN_OF_POSITIVE:
                    forced['random_negative_prob'] = 0.0 if mm_sign > 0 \
                        else 1.0
                official_sign = mm_sign * OFFICIAL_SIGN_OF_POSITIVE.get(op, 1)
                op_transform = TRANSFORMS.build(forced)
                differences = []
                for image_rgb, image_served in zip(rgb, served):
                    out = op_transform(dict(img=image_served.copy()))['img']
                    if to_rgb:
                        out = out[..., ::-1]
                    expected = official_op(image_rgb, op, index, official_sign)
                    differences.append(
                        np.abs(
                            out.astype(np.float64) -
                            expected.astype(np.float64)).mean())
                rows.append((number, transform.type, op, index, official_sign,
                             float(np.mean(differences))))
    return rows


@pytest.fixture(scope='module')
def smooth_cifar(tmp_path_factory):
    return write_fake_cifar(
        str(tmp_path_factory.mktemp('smooth_cifar')),
        'cifar100',
        train_per_class=1,
        test_per_class=1,
        smooth=True)


def test_every_op_and_sign_matches_the_official_pil_op(smooth_cifar):
    rows = measure_policy(smooth_cifar)
    # 50 ops; the signed ones twice.
    assert len(rows) == 50 + sum(
        op in OFFICIAL_SIGN_OF_POSITIVE for policy in OFFICIAL_POLICY
        for op in (policy[1], policy[4]))
    failures = [row for row in rows if not row[-1] <= TOLERANCE]
    assert not failures, '\n'.join(
        f'sub-policy {n} {t} ({op} {i}, sign {s:+d}): mean |diff| {d:.2f}'
        for n, t, op, i, s, d in failures)


def _print_table():
    with tempfile.TemporaryDirectory() as root:
        rows = measure_policy(
            write_fake_cifar(
                root,
                'cifar100',
                train_per_class=1,
                test_per_class=1,
                smooth=True))
    worst = {}
    for _, transform, op, _, _, difference in rows:
        worst[(op,
               transform)] = max(worst.get((op, transform), 0.0), difference)
    print('| official op | MMPretrain transform | largest mean |diff| |')
    print('|---|---|---|')
    for (op, transform), difference in sorted(worst.items()):
        print(f'| {op} | {transform} | {difference:.2f} |')


if __name__ == '__main__':
    _print_table()
