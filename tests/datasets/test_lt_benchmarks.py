"""ImageNet-LT, Places-LT and iNaturalist 2018 on tiny generated image
folders, loaded through the real pipeline."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
from mmpretrain.registry import DATASETS
from mmpretrain.structures import DataSample

import shike_mm  # noqa: F401  (registers the datasets)
from shike_mm.datasets import SplitFileError, get_train_class_counts
from shike_mm.testing import write_image_folder

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
TRAIN_COUNTS = [6, 3, 2, 1]

# dataset type -> (train split, evaluation splits)
FORMATS = {
    'ImageNetLT':
    ('ImageNet_LT_train.txt', ['ImageNet_LT_val.txt', 'ImageNet_LT_test.txt']),
    'PlacesLT':
    ('Places_LT_train.txt', ['Places_LT_val.txt', 'Places_LT_test.txt']),
    'INaturalist2018': ('iNaturalist18_train.txt', ['iNaturalist18_val.txt']),
}


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    init_default_scope('mmpretrain')


@pytest.fixture(scope='module', params=sorted(FORMATS))
def lt_format(request, tmp_path_factory):
    """(dataset type, data root, train split, evaluation splits)."""
    dataset_type = request.param
    train_split, eval_splits = FORMATS[dataset_type]
    root = str(tmp_path_factory.mktemp(dataset_type))
    splits = {train_split: TRAIN_COUNTS}
    splits.update({name: [2] * len(TRAIN_COUNTS) for name in eval_splits})
    write_image_folder(root, splits, image_size=12)
    return dataset_type, root, train_split, eval_splits


def _build(dataset_type, root, ann_file, **kwargs):
    return DATASETS.build(
        dict(
            type=dataset_type,
            data_root=root,
            ann_file=ann_file,
            num_classes=len(TRAIN_COUNTS),
            pipeline=PIPELINE,
            **kwargs))


def test_train_split_loads_images_through_the_pipeline(lt_format):
    dataset_type, root, train_split, _ = lt_format
    dataset = _build(dataset_type, root, train_split)

    assert type(dataset).__name__ == dataset_type
    assert len(dataset) == sum(TRAIN_COUNTS)
    item = dataset[len(dataset) - 1]
    assert isinstance(item['inputs'], torch.Tensor)
    assert tuple(item['inputs'].shape) == (3, 12, 12)
    assert isinstance(item['data_samples'], DataSample)
    assert int(item['data_samples'].gt_label) == len(TRAIN_COUNTS) - 1
    assert item['data_samples'].img_path.startswith(root)
    assert dataset.metainfo['classes'] == ('class_0', 'class_1', 'class_2',
                                           'class_3')
    assert get_train_class_counts(dataset) == TRAIN_COUNTS


def test_eval_splits_load_balanced(lt_format):
    dataset_type, root, _, eval_splits = lt_format
    for split in eval_splits:
        dataset = _build(dataset_type, root, split, test_mode=True)
        assert len(dataset) == 2 * len(TRAIN_COUNTS)
        assert np.bincount(dataset.get_gt_labels()).tolist() == [2] * 4


def test_an_image_the_pipeline_fails_on_names_the_file_and_line(tmp_path):
    root = str(tmp_path)
    written = write_image_folder(root, {'train.txt': [2, 2]}, image_size=8)
    lines = open(written['train.txt']).read().splitlines()
    empty_image = osp.join(root, lines[2].split()[0])
    open(empty_image, 'wb').close()  # a zero-byte file
    dataset = DATASETS.build(
        dict(
            type='SplitFileDataset',
            data_root=root,
            ann_file='train.txt',
            num_classes=2,
            pipeline=PIPELINE))
    assert tuple(dataset[0]['inputs'].shape) == (3, 8, 8)
    with pytest.raises(SplitFileError) as error:
        dataset[2]
    message = str(error.value)
    assert message.startswith(f'{written["train.txt"]}, line 3: image ')
    assert empty_image in message


def test_generic_split_names_and_data_prefix(tmp_path):
    root = str(tmp_path)
    write_image_folder(
        root, {
            'train.txt': [3, 1],
            'val.txt': [1, 1]
        }, image_dir='imgs')
    # Paths in the split file relative to an image folder, not the root.
    for name in ('train.txt', 'val.txt'):
        lines = open(osp.join(root, name)).read().replace('imgs/', '')
        open(osp.join(root, name), 'w').write(lines)

    dataset = DATASETS.build(
        dict(
            type='SplitFileDataset',
            data_root=root,
            data_prefix='imgs',
            ann_file='val.txt',
            num_classes=2,
            pipeline=PIPELINE))
    assert dataset.get_gt_labels().tolist() == [0, 1]
    assert tuple(dataset[0]['inputs'].shape) == (3, 16, 16)


def test_default_numbers_of_classes_and_names(tmp_path):
    expected = {'ImageNetLT': 1000, 'PlacesLT': 365, 'INaturalist2018': 8142}
    for dataset_type, num_classes in expected.items():
        dataset = DATASETS.build(
            dict(
                type=dataset_type,
                data_root=str(tmp_path),
                ann_file='unused_train.txt',
                lazy_init=True))
        assert dataset.num_classes == num_classes
        assert len(dataset.metainfo['classes']) == num_classes
    imagenet = DATASETS.build(
        dict(type='ImageNetLT', ann_file='unused.txt', lazy_init=True))
    assert imagenet.metainfo['classes'] == IMAGENET_CATEGORIES


def test_class_names_must_match_num_classes(tmp_path):
    with pytest.raises(
            ValueError, match='3 class names given for '
            'num_classes=4'):
        DATASETS.build(
            dict(
                type='PlacesLT',
                ann_file='unused.txt',
                num_classes=4,
                classes=['a', 'b', 'c'],
                lazy_init=True))
