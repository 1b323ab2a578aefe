"""ClassAwareSampler: balance, DDP shards and epoch seeding."""
import math
from unittest import mock

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler
from mmpretrain.registry import DATA_SAMPLERS

import shike_mm  # noqa: F401  (registers the sampler)
from shike_mm.datasets import ClassAwareSampler

DIST_INFO = 'shike_mm.datasets.samplers.class_aware_sampler.get_dist_info'
CLASS_SIZES = [200, 50, 10, 2]


class LabelledDataset:
    """Just enough of a dataset: a length and labels, classes interleaved
    so that index order differs from class order."""

    def __init__(self, class_sizes):
        labels = np.repeat(np.arange(len(class_sizes)), class_sizes)
        self.labels = np.random.default_rng(0).permutation(labels)
        self.metainfo = {'classes': [str(c) for c in range(len(class_sizes))]}

    def __len__(self):
        return len(self.labels)

    def get_gt_labels(self):
        return self.labels


@pytest.fixture
def dataset():
    return LabelledDataset(CLASS_SIZES)


def _on_rank(rank, world_size, dataset, **kwargs):
    with mock.patch(DIST_INFO, return_value=(rank, world_size)):
        return ClassAwareSampler(dataset, **kwargs)


def _class_frequencies(dataset, indices):
    return np.bincount(
        dataset.labels[list(indices)], minlength=len(CLASS_SIZES))


def test_epoch_is_class_balanced(dataset):
    sampler = ClassAwareSampler(dataset, seed=0)
    indices = list(sampler)
    assert len(indices) == len(sampler) == len(dataset)
    frequencies = _class_frequencies(dataset, indices)
    # 262 draws over 4 classes: 65 or 66 each (quotas are exact).
    assert frequencies.sum() == 262
    assert frequencies.min() >= 65 and frequencies.max() <= 66
    # The plain label distribution would be 200 / 2: far from balanced.
    assert _class_frequencies(dataset, range(len(dataset)))[0] == 200


def test_images_repeat_only_after_their_class_is_exhausted(dataset):
    indices = np.array(list(ClassAwareSampler(dataset, seed=3)))
    for label, size in enumerate(CLASS_SIZES):
        drawn = indices[dataset.labels[indices] == label]
        counts = np.bincount(drawn, minlength=len(dataset))
        members = np.flatnonzero(dataset.labels == label)
        # Every image of the class is drawn floor or ceil(quota / size)
        # times: 65 draws of class 0 touch 65 different images.
        assert counts[members].max() - counts[members].min() <= 1
        assert counts[members].sum() == len(drawn)


def test_sqrt_mode_follows_square_root_of_class_sizes(dataset):
    sampler = ClassAwareSampler(dataset, seed=0, mode='sqrt')
    frequencies = _class_frequencies(dataset, sampler)
    expected = 262 * np.sqrt(CLASS_SIZES) / np.sqrt(CLASS_SIZES).sum()
    assert np.abs(frequencies - expected).max() < 1


def test_progressive_mode_moves_from_instance_to_class_balance(dataset):
    sampler = ClassAwareSampler(
        dataset, seed=0, mode='progressive', num_epochs=10)
    assert _class_frequencies(dataset, sampler).tolist() == CLASS_SIZES
    sampler.set_epoch(5)
    halfway = (np.array(CLASS_SIZES) + 262 / 4) / 2
    assert np.abs(_class_frequencies(dataset, sampler) - halfway).max() < 1
    sampler.set_epoch(12)
    assert _class_frequencies(dataset, sampler).max() <= 66


def test_same_epoch_and_seed_give_the_same_order(dataset):
    first = ClassAwareSampler(dataset, seed=7)
    second = ClassAwareSampler(dataset, seed=7)
    epoch_0 = list(first)
    assert list(first) == epoch_0 == list(second)

    first.set_epoch(1)
    epoch_1 = list(first)
    assert epoch_1 != epoch_0
    second.set_epoch(1)
    assert list(second) == epoch_1
    assert list(ClassAwareSampler(dataset, seed=8)) != epoch_0


def test_two_ranks_take_disjoint_shards_of_one_epoch(dataset):
    shards = []
    for rank in (0, 1):
        sampler = _on_rank(rank, 2, dataset, seed=5)
        sampler.set_epoch(3)
        shards.append(list(sampler))
        assert len(shards[-1]) == len(sampler) == 131

    single = ClassAwareSampler(dataset, seed=5)
    single.set_epoch(3)
    epoch = list(single)
    # Rank r holds positions r, r + 2, ... of the epoch list: the shards are
    # disjoint slices whose union is the whole list.
    assert shards[0] == epoch[0::2] and shards[1] == epoch[1::2]
    assert sorted(shards[0] + shards[1]) == sorted(epoch)
    assert shards[0] != shards[1]


@pytest.mark.parametrize('round_up', [True, False])
def test_lengths_match_default_sampler(round_up):
    odd = LabelledDataset([4, 2, 1])  # 7 samples on 2 ranks
    union = []
    for rank in (0, 1):
        sampler = _on_rank(rank, 2, odd, seed=0, round_up=round_up)
        with mock.patch(
                'mmengine.dataset.sampler.get_dist_info',
                return_value=(rank, 2)):
            default = DefaultSampler(odd, seed=0, round_up=round_up)
        indices = list(sampler)
        assert len(indices) == len(sampler) == len(default)
        union += indices
    assert len(union) == (8 if round_up else 7)


def test_seed_is_synchronised_when_not_given(dataset):
    with mock.patch(
            'shike_mm.datasets.samplers.class_aware_sampler.sync_random_seed',
            return_value=1234) as sync:
        sampler = ClassAwareSampler(dataset)
    sync.assert_called_once()
    assert sampler.seed == 1234
    assert list(sampler) == list(ClassAwareSampler(dataset, seed=1234))


def test_without_shuffle_order_is_fixed_and_interleaved(dataset):
    sampler = ClassAwareSampler(dataset, shuffle=False, seed=0)
    epoch_0 = list(sampler)
    sampler.set_epoch(4)
    assert list(sampler) == epoch_0
    labels = dataset.labels[epoch_0]
    assert labels[:8].tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    class_3 = [i for i in epoch_0 if dataset.labels[i] == 3]
    assert class_3[:2] == np.flatnonzero(dataset.labels == 3).tolist()


def test_built_from_the_registry(dataset):
    sampler = DATA_SAMPLERS.build(
        dict(type='ClassAwareSampler', mode='sqrt'),
        default_args=dict(dataset=dataset, seed=0))
    assert isinstance(sampler, ClassAwareSampler)
    assert sampler.mode == 'sqrt'


def test_bad_arguments(dataset):
    with pytest.raises(ValueError, match='mode must be one of'):
        ClassAwareSampler(dataset, mode='uniform')
    with pytest.raises(ValueError, match='needs a positive int num_epochs'):
        ClassAwareSampler(dataset, mode='progressive')
    with pytest.raises(ValueError, match='the dataset is empty'):
        ClassAwareSampler(LabelledDataset([]), seed=0)


def test_many_small_classes_get_equal_quotas():
    # iNat-like: many classes, some with 2 images.
    sizes = np.maximum(2, (1000 * 0.002**(np.arange(3000) / 2999))).astype(int)
    sampler = ClassAwareSampler(LabelledDataset(sizes), seed=0)
    frequencies = np.bincount(
        sampler.dataset.labels[list(sampler)], minlength=len(sizes))
    quota = sizes.sum() / len(sizes)
    assert frequencies.min() == math.floor(quota)
    assert frequencies.max() == math.ceil(quota)
