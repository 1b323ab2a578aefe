"""Bad split files raise SplitFileError naming the file and line."""
import logging
import os
import os.path as osp
from unittest import mock

import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

import shike_mm  # noqa: F401  (registers the datasets)
from shike_mm.datasets import (SplitFileError, get_train_class_counts,
                               read_split_file)
from shike_mm.datasets.split_file import read_training_counts
from shike_mm.testing import write_image_folder


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    init_default_scope('mmpretrain')


@pytest.fixture
def image_root(tmp_path):
    """A 3-class ImageNet-LT-style folder: train [3, 2, 1], val [1, 1, 1]."""
    root = str(tmp_path)
    write_image_folder(
        root, {
            'ImageNet_LT_train.txt': [3, 2, 1],
            'ImageNet_LT_val.txt': [1, 1, 1]
        },
        image_size=8)
    return root


def _lines(path):
    with open(path) as f:
        return f.read().splitlines()


def _write_lines(path, lines):
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def _build(root, ann_file='ImageNet_LT_train.txt', **kwargs):
    return DATASETS.build(
        dict(
            type='ImageNetLT',
            data_root=root,
            ann_file=ann_file,
            num_classes=3,
            **kwargs))


def _error(root, **kwargs) -> SplitFileError:
    with pytest.raises(SplitFileError) as error:
        _build(root, **kwargs)
    return error.value


@pytest.mark.parametrize(
    'bad_line, reason',
    [('images/a.jpg', 'expected "relative/path label"'),
     ('images/a.jpg 1 extra', 'expected "relative/path label"'),
     ('images/a.jpg one', "label 'one' is not an integer"),
     ('images/a.jpg 1.0', "label '1.0' is not an integer"),
     ('images/a.jpg 3', 'label 3 is out of range [0, 3)'),
     ('images/a.jpg -1', 'label -1 is out of range [0, 3)')])
def test_bad_line_names_file_and_line(image_root, bad_line, reason):
    train_file = osp.join(image_root, 'ImageNet_LT_train.txt')
    lines = _lines(train_file)
    lines[3] = bad_line
    _write_lines(train_file, lines)

    error = _error(image_root)
    assert str(error).startswith(f'{train_file}, line 4: ')
    assert reason in str(error)
    assert isinstance(error, ValueError)
    assert (error.path, error.line_no) == (train_file, 4)


def test_line_numbers_count_blank_lines(image_root):
    train_file = osp.join(image_root, 'ImageNet_LT_train.txt')
    lines = _lines(train_file)
    _write_lines(train_file, ['', lines[0], '   ', 'broken'] + lines[1:])
    assert f'{train_file}, line 4: ' in str(_error(image_root))


def test_missing_image_is_caught_when_loading(image_root):
    train_file = osp.join(image_root, 'ImageNet_LT_train.txt')
    missing = _lines(train_file)[4].split()[0]
    os.remove(osp.join(image_root, missing))

    error = _error(image_root)
    assert str(error).startswith(f'{train_file}, line 5: ')
    assert f'image {missing!r} not found' in str(error)
    assert '1 of 6 images missing' in str(error)
    # The check can be skipped for huge, trusted sets.
    assert len(_build(image_root, check_files=False)) == 6


def test_empty_split(image_root):
    val_file = osp.join(image_root, 'ImageNet_LT_val.txt')
    _write_lines(val_file, ['', '  '])
    error = _error(image_root, ann_file='ImageNet_LT_val.txt')
    assert str(error) == (f'{val_file}: the split is empty (no "path label" '
                          'lines)')


def test_class_without_training_images(image_root):
    train_file = osp.join(image_root, 'ImageNet_LT_train.txt')
    _write_lines(train_file,
                 [line for line in _lines(train_file) if line[-1] != '1'])
    # A split may lack a class; as the training set it is refused.
    train = _build(image_root)
    with pytest.raises(ValueError) as error:
        get_train_class_counts(train)
    assert str(error.value) == (
        f"ImageNetLT (ann_file={train_file!r}): 1 of 3 classes have no "
        'training image (class 1); every class needs at least one')


def test_training_counts_from_a_file_with_empty_classes(tmp_path):
    train_file = str(tmp_path / 'train.txt')
    _write_lines(train_file, ['a.jpg 0', 'b.jpg 3'])
    with pytest.raises(SplitFileError) as error:
        read_training_counts(train_file, num_classes=5)
    assert str(error.value) == (
        f'{train_file}: 3 of 5 classes have no training image (class 1, 2, '
        '4); every class needs at least one')


def test_duplicated_lines_warn_with_the_count(tmp_path):
    split = str(tmp_path / 'train.txt')
    _write_lines(
        split,
        ['a.jpg 0', 'b.jpg 1', 'a.jpg 0', 'c.jpg 1', 'a.jpg 0', 'b.jpg 1'])
    with mock.patch('shike_mm.datasets.split_file.print_log') as print_log:
        entries = read_split_file(split, num_classes=2)
    assert len(entries) == 6  # kept as listed
    (call, ) = print_log.call_args_list
    assert call.kwargs['level'] == logging.WARNING
    assert call.args[0] == (
        f"{split}: 3 duplicated entries (2 paths listed more than once, e.g. "
        "'a.jpg' on lines 1, 3, 5); each is used as often as it is listed")


def test_the_duplicated_entries_warning_stays_one_short_line(tmp_path):
    """A 100,000-line split listing one image 50,000 times."""
    split = str(tmp_path / 'train.txt')
    _write_lines(
        split, ['a.jpg 0' if i % 2 else f'{i}.jpg 1' for i in range(100_000)])
    with mock.patch('shike_mm.datasets.split_file.print_log') as print_log:
        read_split_file(split, num_classes=2)
    (call, ) = print_log.call_args_list
    assert call.args[0] == (
        f"{split}: 49999 duplicated entries (1 paths listed more than once, "
        "e.g. 'a.jpg' on lines 2, 4, 6, 8, 10 and 49995 more); each is used "
        'as often as it is listed')


def test_unique_lines_do_not_warn(tmp_path):
    split = str(tmp_path / 'train.txt')
    _write_lines(split, ['a.jpg 0', 'b.jpg 1'])
    with mock.patch('shike_mm.datasets.split_file.print_log') as print_log:
        read_split_file(split, num_classes=2)
    print_log.assert_not_called()


def test_read_split_file_strips_leading_slash(tmp_path):
    split = str(tmp_path / 'Places_LT_train.txt')
    _write_lines(split, ['/a/airfield/00000001.jpg 0', 'b/bar/2.jpg  1 '])
    entries = read_split_file(split, num_classes=2)
    assert [(e.rel_path, e.label, e.line_no)
            for e in entries] == [('a/airfield/00000001.jpg', 0, 1),
                                  ('b/bar/2.jpg', 1, 2)]
