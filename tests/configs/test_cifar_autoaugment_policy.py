"""The CIFAR pipeline's AutoAugment policy is the official CIFAR10Policy."""
import os.path as osp

import numpy as np
import pytest
from helpers import REPO_ROOT
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import TRANSFORMS
from official_cifar10_policy import OFFICIAL_POLICY

DATASET_CFG = osp.join(REPO_ROOT,
                       'configs/_base_/datasets/cifar100-lt_bs128_shike.py')


def expected_transform(prob, op, index):
    """MMPretrain transform for an official (op, magnitude index)."""
    shear = np.linspace(0, 0.3, 10)[index]
    translate = np.linspace(0, 150 / 331, 10)[index]
    factor = np.linspace(0.0, 0.9, 10)[index]
    signed = dict(random_negative_prob=0.5)
    fill = dict(pad_val=(128, 128, 128))
    table = {
        'invert':
        dict(type='Invert'),
        'autocontrast':
        dict(type='AutoContrast'),
        'equalize':
        dict(type='Equalize'),
        'shearY':
        dict(
            type='Shear',
            magnitude=shear,
            direction='vertical',
            **signed,
            **fill),
        'translateX':
        dict(
            type='Translate',
            magnitude=translate,
            direction='horizontal',
            **signed,
            **fill),
        'translateY':
        dict(
            type='Translate',
            magnitude=translate,
            direction='vertical',
            **signed,
            **fill),
        # PIL rotates counter-clockwise; MMPretrain's positive angle is
        # clockwise. No random sign for rotate.
        'rotate':
        dict(
            type='Rotate',
            angle=-np.linspace(0, 30, 10)[index],
            random_negative_prob=0.0,
            **fill),
        'color':
        dict(type='ColorTransform', magnitude=factor, **signed),
        'contrast':
        dict(type='Contrast', magnitude=factor, **signed),
        'sharpness':
        dict(type='Sharpness', magnitude=factor, **signed),
        'brightness':
        dict(type='Brightness', magnitude=factor, **signed),
        'posterize':
        dict(
            type='Posterize', bits=int(np.round(np.linspace(8, 4,
                                                            10))[index])),
        'solarize':
        dict(type='Solarize', thr=np.linspace(256, 0, 10)[index]),
    }
    return dict(table[op], prob=prob)


def _policies():
    cfg = Config.fromfile(DATASET_CFG)
    (autoaugment, ) = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t.type == 'AutoAugment'
    ]
    return autoaugment


def _assert_same(actual, expected):
    assert set(actual) == set(expected), (actual, expected)
    for key, value in expected.items():
        if isinstance(value, float):
            assert actual[key] == pytest.approx(value, abs=1e-9), key
        else:
            assert actual[key] == value, key


def test_policy_has_the_25_official_sub_policies():
    policies = _policies().policies
    assert len(policies) == 25
    for actual, (p1, op1, i1, p2, op2, i2) in zip(policies, OFFICIAL_POLICY):
        assert len(actual) == 2
        _assert_same(dict(actual[0]), expected_transform(p1, op1, i1))
        _assert_same(dict(actual[1]), expected_transform(p2, op2, i2))


def test_pipeline_order_and_cutout():
    cfg = Config.fromfile(DATASET_CFG)
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [t.type for t in pipeline] == [
        'RandomCrop', 'RandomFlip', 'AutoAugment', 'Cutout', 'PackInputs'
    ]
    assert pipeline[0].crop_size == 32 and pipeline[0].padding == 4
    cutout = pipeline[3]
    assert (cutout.shape, cutout.pad_val, cutout.prob) == (16, 0, 1.0)
    assert cfg.data_preprocessor.mean == pytest.approx(
        [0.4914 * 255, 0.4822 * 255, 0.4465 * 255])
    assert cfg.data_preprocessor.std == pytest.approx(
        [0.2023 * 255, 0.1994 * 255, 0.2010 * 255])


def test_every_sub_policy_runs_on_a_cifar_image():
    init_default_scope('mmpretrain')
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for sub_policy in _policies().policies:
        for transform in sub_policy:
            always = TRANSFORMS.build(dict(transform, prob=1.0))
            out = always(dict(img=img.copy(), img_shape=(32, 32)))['img']
            assert out.shape == (32, 32, 3) and out.dtype == np.uint8
