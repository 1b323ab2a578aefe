"""CIFAR-10/100-LT on fake CIFAR pickles."""
import os
import os.path as osp
import pickle
import socket
from unittest import mock
from urllib.error import URLError

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

import shike_mm  # noqa: F401  (registers the datasets)
from shike_mm.datasets import get_train_class_counts, long_tail_counts
from shike_mm.datasets.cifar_lt import subset_fingerprint
from shike_mm.evaluation.metrics import shot_groups
from shike_mm.testing import write_fake_cifar


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    init_default_scope('mmpretrain')


@pytest.fixture(scope='module')
def cifar100_root(fake_cifar):
    return fake_cifar('cifar100', 500, 100)


def _raw_cifar100_train(root):
    with open(osp.join(root, 'cifar-100-python', 'train'), 'rb') as f:
        entry = pickle.load(f)
    return np.array(entry['fine_labels']), entry['data']


def _build(root, **kwargs):
    kwargs.setdefault('type', 'CIFAR100LT')
    return DATASETS.build(dict(data_root=root, download=False, **kwargs))


def _images(dataset):
    """The dataset's images as rows of the CIFAR file layout (RGB planes,
    flattened), whichever channel order it serves."""
    images = np.stack(
        [dataset.get_data_info(i)['img'] for i in range(len(dataset))])
    if dataset.metainfo['channel_order'] == 'bgr':
        images = images[..., ::-1]
    return images.transpose(0, 3, 1, 2).reshape(len(dataset), -1)


def test_if100_counts_and_shot_groups(cifar100_root, no_cifar_md5):
    dataset = _build(cifar100_root, imb_factor=100)

    counts = get_train_class_counts(dataset)
    assert len(dataset) == 10847 == sum(counts)
    assert counts[0] == 500 and counts[99] == 5
    assert np.all(np.diff(counts) <= 0)
    assert np.bincount(dataset.get_gt_labels()).tolist() == counts
    assert counts == long_tail_counts(500, 100, 100)
    groups = shot_groups(counts)
    assert [int(groups[g].sum()) for g in ('many', 'medium', 'few')] == \
        [35, 35, 30]
    assert counts[69] == 20 and groups['medium'][69]


@pytest.mark.parametrize('imb_factor, total, tail', [(50, 12608, 10),
                                                     (10, 19573, 50)])
def test_other_imbalance_factors(cifar100_root, no_cifar_md5, imb_factor,
                                 total, tail):
    dataset = _build(cifar100_root, imb_factor=imb_factor)
    counts = get_train_class_counts(dataset)
    assert len(dataset) == total == sum(counts)
    assert counts[0] == 500 and counts[-1] == tail


def test_first_rule_keeps_first_images_of_each_class_in_file_order(
        cifar100_root, no_cifar_md5):
    labels, pixels = _raw_cifar100_train(cifar100_root)
    dataset = _build(cifar100_root, subset_rule='first')

    counts = long_tail_counts(500, 100, 100)
    expected = np.sort(
        np.concatenate(
            [np.flatnonzero(labels == c)[:n] for c, n in enumerate(counts)]))
    np.testing.assert_array_equal(_images(dataset), pixels[expected])
    np.testing.assert_array_equal(dataset.get_gt_labels(), labels[expected])
    assert dataset.subset_fingerprint == subset_fingerprint(expected)


def test_shuffle_rule_is_the_seeded_ldam_subset(cifar100_root, no_cifar_md5):
    labels, pixels = _raw_cifar100_train(cifar100_root)
    first = _build(cifar100_root, subset_rule='first')
    shuffled = _build(cifar100_root, subset_rule='shuffle', subset_seed=0)
    again = _build(cifar100_root, subset_rule='shuffle', subset_seed=0)
    other_seed = _build(cifar100_root, subset_rule='shuffle', subset_seed=1)

    # LDAM-DRW: np.random.seed(seed), then shuffle each class's indices.
    np.random.seed(0)
    expected = []
    for c, n in enumerate(long_tail_counts(500, 100, 100)):
        members = np.where(labels == c)[0]
        np.random.shuffle(members)
        expected.append(members[:n])
    expected = np.sort(np.concatenate(expected))

    np.testing.assert_array_equal(_images(shuffled), pixels[expected])
    assert get_train_class_counts(shuffled) == \
        get_train_class_counts(first)
    assert shuffled.subset_fingerprint == again.subset_fingerprint
    assert len({
        first.subset_fingerprint, shuffled.subset_fingerprint,
        other_seed.subset_fingerprint
    }) == 3


def test_counts_and_fingerprint_are_logged(cifar100_root, no_cifar_md5):
    with mock.patch('shike_mm.datasets.cifar_lt.print_log') as print_log:
        dataset = _build(cifar100_root, imb_factor=100)
    log = ' '.join(str(call.args[0]) for call in print_log.call_args_list)
    assert dataset.subset_fingerprint in log
    assert str(get_train_class_counts(dataset)) in log
    assert len(dataset.subset_fingerprint) == 12


def test_test_split_stays_balanced(cifar100_root, no_cifar_md5):
    dataset = _build(cifar100_root, split='test', imb_factor=50)
    assert len(dataset) == 10000
    assert np.bincount(dataset.get_gt_labels()).tolist() == [100] * 100


def test_profile_leaving_a_class_empty_is_refused(fake_cifar, no_cifar_md5):
    # 3 images per class and IF100: int(3 * 0.01^(i/99)) is 0 from class 24.
    root = fake_cifar('cifar100', 3, 1)
    with pytest.raises(ValueError) as error:
        _build(root, imb_factor=100)
    message = str(error.value)
    assert 'imb_factor=100 on 3 images per class' in message
    assert 'leaves classes 24..99 without a training image' in message
    # The balanced test split needs no profile.
    assert len(_build(root, split='test', imb_factor=100)) == 100


def test_cifar10_lt(fake_cifar, no_cifar_md5):
    root = fake_cifar('cifar10', 50, 5)
    dataset = _build(root, type='CIFAR10LT', imb_factor=10)
    expected = [int(50 * 0.1**(i / 9)) for i in range(10)]
    assert get_train_class_counts(dataset) == expected
    assert np.bincount(dataset.get_gt_labels()).tolist() == expected
    assert expected[0] == 50 and expected[-1] == 5


def test_loads_through_the_pipeline(cifar100_root, no_cifar_md5):
    dataset = _build(
        cifar100_root,
        pipeline=[dict(type='RandomFlip', prob=0.5),
                  dict(type='PackInputs')])
    item = dataset[0]
    assert tuple(item['inputs'].shape) == (3, 32, 32)
    assert int(item['data_samples'].gt_label) == dataset.get_gt_labels()[0]


@pytest.mark.parametrize('imb_factor', [0.5, 0, -10, float('nan'), '100'])
def test_bad_imbalance_factor(cifar100_root, imb_factor):
    with pytest.raises(ValueError, match='imb_factor must be a number >= 1'):
        _build(cifar100_root, imb_factor=imb_factor)


def test_serves_bgr_by_default_and_rgb_on_request(fake_cifar, no_cifar_md5):
    root = fake_cifar('cifar10', 50, 5)
    labels_first = dict(type='CIFAR10LT', imb_factor=10, split='test')
    bgr = _build(root, **labels_first)
    rgb = _build(root, channel_order='rgb', **labels_first)
    plain = DATASETS.build(
        dict(type='CIFAR10', data_root=root, split='test', download=False))
    assert bgr.metainfo['channel_order'] == 'bgr'
    assert rgb.metainfo['channel_order'] == 'rgb'
    for i in (0, 7, 49):
        file_rgb = plain.get_data_info(i)['img']
        np.testing.assert_array_equal(rgb.get_data_info(i)['img'], file_rgb)
        served = bgr.get_data_info(i)['img']
        np.testing.assert_array_equal(served, file_rgb[..., ::-1])
        assert served.flags['C_CONTIGUOUS']


def test_bad_channel_order(cifar100_root):
    with pytest.raises(ValueError, match="channel_order must be one of"):
        _build(cifar100_root, channel_order='BGR')


def test_bad_subset_rule(cifar100_root):
    with pytest.raises(ValueError, match="subset_rule must be one of"):
        _build(cifar100_root, subset_rule='random')


def test_wrong_number_of_classes(tmp_path, no_cifar_md5):
    root = write_fake_cifar(str(tmp_path), 'cifar100', 5, 1)
    train_file = osp.join(root, 'cifar-100-python', 'train')
    with open(train_file, 'rb') as f:
        entry = pickle.load(f)
    entry['fine_labels'] = [label % 10 for label in entry['fine_labels']]
    with open(train_file, 'wb') as f:
        pickle.dump(entry, f)

    with pytest.raises(ValueError) as error:
        _build(root)
    message = str(error.value)
    assert train_file in message
    assert 'only 10 classes, expected 100' in message


def test_offline_download_failure_says_what_to_do_and_cleans_up(tmp_path):
    data_root = tmp_path / 'data' / 'cifar100'

    def offline_download(url, download_root, filename=None, md5=None):
        os.makedirs(download_root, exist_ok=True)
        with open(osp.join(download_root, filename), 'wb') as f:
            f.write(b'partial')
        raise URLError(socket.gaierror(-2, 'Name or service not known'))

    with mock.patch('mmpretrain.datasets.cifar.download_and_extract_archive',
                    offline_download):
        with pytest.raises(RuntimeError) as error:
            DATASETS.build(
                dict(
                    type='CIFAR100LT', data_root=str(data_root),
                    download=True))
    message = str(error.value)
    assert message.startswith(
        f'CIFAR100LT: no CIFAR data in {data_root}/cifar-100-python '
        '(expected train, test, meta) and downloading '
        'https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz failed '
        '(URLError: ')
    assert 'Name or service not known' in message
    assert ('Download https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz'
            ' (md5 ') in message
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert not (tmp_path / 'data').exists()  # nothing left behind
    assert tmp_path.exists()  # ... but only what it created


def test_missing_files_without_download_say_what_to_do(tmp_path):
    (tmp_path / 'mine.txt').write_text('kept')
    with pytest.raises(RuntimeError) as error:
        DATASETS.build(
            dict(type='CIFAR100LT', data_root=str(tmp_path), download=False))
    assert 'no CIFAR data in' in str(error.value)
    assert (tmp_path / 'mine.txt').read_text() == 'kept'
    assert 'and download=False. Download https://' in str(error.value)
