"""DigitsLT: long-tailed scikit-learn digits with a balanced test split."""
import sys
from collections import Counter
from unittest import mock

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

import shike_mm  # noqa: F401  (registers the datasets)
from shike_mm.datasets import get_train_class_counts, long_tail_counts
from shike_mm.datasets.digits_lt import load_sklearn_digits, to_rgb_uint8
from shike_mm.evaluation.metrics import shot_groups

DEFAULT_COUNTS = [124, 88, 63, 45, 32, 23, 16, 12, 8, 6]


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    init_default_scope('mmpretrain')


def _build(**kwargs):
    return DATASETS.build(dict(type='DigitsLT', **kwargs))


def _image_keys(dataset):
    return [
        dataset.get_data_info(i)['img'].tobytes() for i in range(len(dataset))
    ]


def test_default_training_split_follows_the_exponential_profile():
    dataset = _build()

    counts = get_train_class_counts(dataset)
    assert counts == DEFAULT_COUNTS
    assert counts == long_tail_counts(124, 10, 20)
    assert len(dataset) == sum(counts) == 417
    assert np.bincount(dataset.get_gt_labels()).tolist() == counts
    assert dataset.metainfo['classes'] == tuple('0123456789')


def test_test_split_is_balanced():
    dataset = _build(split='test')

    assert len(dataset) == 500
    assert np.bincount(dataset.get_gt_labels()).tolist() == [50] * 10
    # The thresholds of the digits configs give 3/3/4 classes.
    groups = shot_groups(DEFAULT_COUNTS, many_thr=50, few_thr=20)
    assert [int(groups[g].sum()) for g in ('many', 'medium', 'few')] == \
        [3, 3, 4]


def test_splits_are_disjoint_real_digits():
    train, test = _build(), _build(split='test')
    images, _ = load_sklearn_digits()
    available = Counter(to_rgb_uint8(image).tobytes() for image in images)
    used = Counter(_image_keys(train)) + Counter(_image_keys(test))
    # Every served image is a digit of scikit-learn, and no digit is
    # served more often than it occurs there (duplicates included).
    assert all(used[key] <= available[key] for key in used)


def test_images_are_32x32_grey_uint8_in_memory():
    dataset = _build(split='test')
    info = dataset.get_data_info(0)
    img = info['img']
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert np.array_equal(img[..., 0], img[..., 1])
    assert np.array_equal(img[..., 0], img[..., 2])
    assert img.min() == 0 and img.max() > 200
    assert 'img_path' not in info


def test_image_size_option_serves_smaller_images_of_the_same_digits():
    small = _build(split='test', image_size=16)
    default = _build(split='test')
    assert small.get_data_info(0)['img'].shape == (16, 16, 3)
    assert small.get_gt_labels().tolist() == default.get_gt_labels().tolist()
    images, _ = load_sklearn_digits()
    available = {to_rgb_uint8(image, 16).tobytes() for image in images}
    assert set(_image_keys(small)) <= available


@pytest.mark.parametrize('image_size', [7, 16.0, True, '16'])
def test_image_size_must_be_an_integer_of_at_least_8(image_size):
    with pytest.raises(
            ValueError, match='image_size must be an integer '
            '>= 8'):
        _build(image_size=image_size)


def test_upscaling_keeps_the_digit():
    digit = np.zeros((8, 8))
    digit[:, 3:5] = 16.0  # a vertical bar
    img = to_rgb_uint8(digit)[..., 0]
    assert img[:, 14:18].min() == 255
    assert img[:, :8].max() == 0 and img[:, 24:].max() == 0


def test_pipeline_packs_a_3x32x32_tensor():
    dataset = _build(
        split='test',
        pipeline=[
            dict(type='Resize', scale=(32, 32)),
            dict(type='PackInputs')
        ])
    item = dataset[0]
    assert tuple(item['inputs'].shape) == (3, 32, 32)
    assert int(item['data_samples'].gt_label) == dataset.get_gt_labels()[0]


def test_imbalance_factor_and_test_size_options():
    flat = _build(imb_factor=1, test_per_class=100)
    # The smallest digit has 174 images: 74 are left for training.
    assert get_train_class_counts(flat) == [74] * 10
    steep = _build(imb_factor=100)
    counts = get_train_class_counts(steep)
    assert counts[0] == 124 and counts[-1] == 1
    assert len(steep) == sum(counts)


def test_split_seed_changes_the_chosen_images_reproducibly():
    first, again = _build(split_seed=0), _build(split_seed=0)
    other = _build(split_seed=1)
    assert first.subset_fingerprint == again.subset_fingerprint
    assert first.subset_fingerprint != other.subset_fingerprint
    assert _image_keys(first) == _image_keys(again)
    assert _image_keys(_build(split='test', split_seed=0)) != _image_keys(
        _build(split='test', split_seed=1))


@pytest.mark.parametrize('kwargs, message', [
    (dict(imb_factor=0.5), 'imb_factor must be a number >= 1'),
    (dict(imb_factor=True), 'imb_factor must be a number >= 1'),
    (dict(imb_factor='20'), 'imb_factor must be a number >= 1'),
    (dict(test_per_class=0), 'test_per_class must be a positive integer'),
    (dict(test_per_class=2.5), 'test_per_class must be a positive integer'),
    (dict(test_per_class=174), 'leaves no training image for digit 8'),
    (dict(split='val'), "split must be one of \\('train', 'test'\\)"),
    (dict(imb_factor=125), r'imb_factor=125 on 124 training images per '
     r'digit leaves digit 9 without a training image; use imb_factor '
     r'<= 124'),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _build(**kwargs)


def test_missing_scikit_learn_is_explained():
    with mock.patch.dict(sys.modules, {
            'sklearn': None,
            'sklearn.datasets': None
    }):
        with pytest.raises(ImportError, match='pip install scikit-learn'):
            _build()
