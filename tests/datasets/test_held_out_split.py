"""HeldOutSplit: a seeded, stratified part of a split kept out of
training."""
import numpy as np
import pytest

from shike_mm.datasets import HeldOutSplit, get_train_class_counts

COUNTS = [124, 88, 63, 45, 32, 23, 16, 12, 8, 6, 1]


class LongTailedSplit:
    metainfo = {'classes': tuple(str(c) for c in range(len(COUNTS)))}

    def __init__(self):
        self.labels = np.repeat(np.arange(len(COUNTS)), COUNTS)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return dict(index=idx)

    def get_gt_labels(self):
        return self.labels


def test_parts_are_disjoint_stratified_and_cover_the_split():
    train = HeldOutSplit(LongTailedSplit(), part='train', fraction=0.2)
    held_out = HeldOutSplit(LongTailedSplit(), part='held_out', fraction=0.2)
    assert not set(train.indices) & set(held_out.indices)
    assert sorted(set(train.indices) | set(held_out.indices)) == list(
        range(sum(COUNTS)))
    # round(0.2 * n), halves up, but every class keeps a training image.
    expected = [int(np.floor(0.2 * n + 0.5)) for n in COUNTS]
    expected[-1] = 0
    assert np.bincount(
        held_out.get_gt_labels(), minlength=len(COUNTS)).tolist() == expected
    assert get_train_class_counts(train) == [
        n - e for n, e in zip(COUNTS, expected)
    ]
    assert train[0] == dict(index=int(train.indices[0]))


def test_seeded():
    first = HeldOutSplit(LongTailedSplit(), part='held_out', seed=1)
    again = HeldOutSplit(LongTailedSplit(), part='held_out', seed=1)
    other = HeldOutSplit(LongTailedSplit(), part='held_out', seed=2)
    assert first.indices.tolist() == again.indices.tolist()
    assert first.indices.tolist() != other.indices.tolist()


@pytest.mark.parametrize('kwargs, message', [
    (dict(part='test'), 'part must be one of'),
    (dict(fraction=1.0), r'fraction must be in \[0, 1\)'),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HeldOutSplit(LongTailedSplit(), **kwargs)
