"""PriorShiftDataset: a balanced test split re-sampled to the 11 test
priors of the test-agnostic protocol, seeded and reproducible."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

import shike_mm  # noqa: F401
from shike_mm.datasets import (TEST_PRIORS, PriorShiftDataset,
                               get_train_class_counts)
from shike_mm.datasets.prior_shift_dataset import (class_order_from_counts,
                                                   prior_shift_indices)

NUM_CLASSES, PER_CLASS = 10, 50


class BalancedSplit:
    """A fake test split: PER_CLASS samples of each class, interleaved."""
    metainfo = {'classes': tuple(str(c) for c in range(NUM_CLASSES))}

    def __init__(self):
        self.labels = np.tile(np.arange(NUM_CLASSES), PER_CLASS)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return dict(index=idx, gt_label=int(self.labels[idx]))

    def get_data_info(self, idx):
        return self[idx]

    def get_gt_labels(self):
        return self.labels


def _sade_counts(name):
    """SADE's test split sizes: class i of C keeps
    int(n_max * r ** (i / (C - 1))), r = 1 / imbalance; backward reverses
    the classes. Written for this test from the protocol's definition."""
    if name == 'uniform':
        return [PER_CLASS] * NUM_CLASSES
    ratio = 1 / int(''.join(ch for ch in name if ch.isdigit()))
    counts = [
        int(PER_CLASS * ratio**(i / (NUM_CLASSES - 1)))
        for i in range(NUM_CLASSES)
    ]
    return counts if name.startswith('forward') else counts[::-1]


def test_eleven_priors_in_protocol_order():
    assert list(TEST_PRIORS) == [
        'forward50', 'forward25', 'forward10', 'forward5', 'forward2',
        'uniform', 'backward2', 'backward5', 'backward10', 'backward25',
        'backward50'
    ]


@pytest.mark.parametrize('name', list(TEST_PRIORS))
def test_class_counts_match_the_target_prior(name):
    dataset = PriorShiftDataset(BalancedSplit(), imb_factor=name)
    expected = _sade_counts(name)
    assert dataset.class_counts == expected
    assert np.bincount(
        dataset.get_gt_labels(), minlength=NUM_CLASSES).tolist() == expected
    assert get_train_class_counts(dataset) == expected
    assert len(dataset) == sum(expected)
    # Head / tail ratio of the target prior.
    ratio = expected[0] / expected[-1]
    assert ratio == pytest.approx(TEST_PRIORS[name], rel=0.05)


def test_samples_are_the_wrapped_ones():
    split = BalancedSplit()
    dataset = PriorShiftDataset(split, imb_factor=10)
    for i in range(len(dataset)):
        assert dataset[i]['index'] == dataset.indices[i]
        assert dataset[i]['gt_label'] == split.labels[dataset.indices[i]]
    assert len(set(dataset.indices.tolist())) == len(dataset)


def test_seeded_and_reproducible():
    first = PriorShiftDataset(BalancedSplit(), imb_factor=50, seed=3)
    again = PriorShiftDataset(BalancedSplit(), imb_factor=50, seed=3)
    other = PriorShiftDataset(BalancedSplit(), imb_factor=50, seed=4)
    assert first.indices.tolist() == again.indices.tolist()
    assert first.indices.tolist() != other.indices.tolist()
    assert first.class_counts == other.class_counts


def test_smaller_counts_are_subsets_under_one_seed():
    labels = BalancedSplit().labels
    forward = set(prior_shift_indices(labels, 50, NUM_CLASSES).tolist())
    milder = set(prior_shift_indices(labels, 5, NUM_CLASSES).tolist())
    assert forward <= milder


def test_class_order_puts_the_training_head_first():
    train_counts = [5, 40, 10, 100, 1, 2, 3, 4, 6, 7]
    order = class_order_from_counts(train_counts)
    assert order == [3, 1, 2, 9, 8, 0, 7, 6, 5, 4]
    dataset = PriorShiftDataset(
        BalancedSplit(), imb_factor='forward50', class_order=order)
    by_rank = [dataset.class_counts[c] for c in order]
    assert by_rank == _sade_counts('forward50')


def test_registered_and_built_from_a_config():
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(
        dict(
            type='PriorShiftDataset',
            dataset=dict(type='DigitsLT', split='test'),
            imb_factor='backward25'))
    assert dataset.class_counts == _sade_counts('backward25')
    assert dataset.metainfo['classes'][0] == '0'


@pytest.mark.parametrize('kwargs, message', [
    (dict(imb_factor='forward3'), 'not one of'),
    (dict(imb_factor=0), 'imb_factor > 0'),
    (dict(imb_factor=2,
          class_order=[0] * NUM_CLASSES), 'class_order must list each'),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PriorShiftDataset(BalancedSplit(), **kwargs)


def test_a_class_without_test_images_is_refused():
    with pytest.raises(ValueError, match='test images of each of the 3'):
        prior_shift_indices([0, 0, 1, 1], 2, num_classes=3)
