"""get_train_class_counts through wrappers and for plain datasets."""
import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

import shike_mm  # noqa: F401  (registers the datasets)
from shike_mm.datasets import dataset_labels, get_train_class_counts

TINY_TRAIN_COUNTS = [24, 12, 6, 3]  # the tiny_image_folder fixture


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    init_default_scope('mmpretrain')


def _lt_train(root):
    return dict(
        type='SplitFileDataset',
        data_root=root,
        ann_file='train.txt',
        num_classes=4)


def test_plain_mmpretrain_dataset_is_counted(tiny_image_folder):
    dataset = DATASETS.build(
        dict(
            type='CustomDataset',
            data_root=tiny_image_folder,
            ann_file='train.txt'))
    assert not hasattr(dataset, 'get_train_class_counts')
    assert get_train_class_counts(dataset) == TINY_TRAIN_COUNTS


def test_a_class_without_training_images_is_refused(tiny_image_folder):
    dataset = DATASETS.build(
        dict(
            type='CustomDataset',
            data_root=tiny_image_folder,
            ann_file='train.txt',
            classes=['a', 'b', 'c', 'd', 'unseen'],
            indices=range(40)))  # class 3 loses its 3 images
    with pytest.raises(ValueError) as error:
        get_train_class_counts(dataset)
    assert str(error.value) == (
        "CustomDataset (ann_file="
        f"{dataset.ann_file!r}): 2 of 5 classes have no training image "
        '(class 3, 4); every class needs at least one')


@pytest.mark.parametrize('wrapper', [
    dict(type='RepeatDataset', times=3),
    dict(type='ClassBalancedDataset', oversample_thr=0.5),
])
def test_repeating_wrappers_report_the_original_counts(tiny_image_folder,
                                                       wrapper):
    wrapped = DATASETS.build(
        dict(wrapper, dataset=_lt_train(tiny_image_folder)))
    assert len(wrapped) > sum(TINY_TRAIN_COUNTS)
    assert get_train_class_counts(wrapped) == TINY_TRAIN_COUNTS


def test_concat_sums_its_parts(tiny_image_folder):
    concat = DATASETS.build(
        dict(
            type='ConcatDataset',
            datasets=[
                dict(
                    type='RepeatDataset',
                    times=2,
                    dataset=_lt_train(tiny_image_folder)),
                dict(
                    type='CustomDataset',
                    data_root=tiny_image_folder,
                    ann_file='val.txt'),
            ],
            ignore_keys=['classes']))
    assert get_train_class_counts(concat) == [24 + 4, 12 + 4, 6 + 4, 3 + 4]


def test_dataset_labels_of_a_wrapper(tiny_image_folder):
    wrapped = DATASETS.build(
        dict(
            type='RepeatDataset',
            times=2,
            dataset=_lt_train(tiny_image_folder)))
    labels = dataset_labels(wrapped)
    assert len(labels) == 2 * sum(TINY_TRAIN_COUNTS)
    assert labels[:24].tolist() == [0] * 24
    assert labels[45:69].tolist() == [0] * 24
