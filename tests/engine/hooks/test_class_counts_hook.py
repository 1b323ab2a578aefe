"""ClassCountsHook: the training counts of the dataset the runner built
reach the head, the metrics and the checkpoints, and contradictions stop a
run before any training."""
import glob
import os.path as osp

import pytest
import torch

from shike_mm.datasets import long_tail_counts
from shike_mm.utils import load_local_checkpoint


def _long_tail_metric(runner, loop='val_loop'):
    (metric, ) = getattr(runner, loop).evaluator.metrics
    return metric


def test_overridden_training_split_reaches_head_metric_and_checkpoint(
        tiny_shike_cfg, fake_cifar, run_in_process):
    """The issue's case: the training split is overridden (here its data
    and imb_factor) and the val split left alone; the head, the metric
    and the checkpoint all get the counts of the split that was trained
    on."""
    cfg = tiny_shike_cfg(max_epochs=2, switch_epoch=1)
    cfg.train_dataloader.dataset.update(
        data_root=fake_cifar('cifar100', 4, 1), imb_factor=2)
    expected = long_tail_counts(4, 100, 2)
    assert len(set(expected)) > 1

    runner = run_in_process(cfg)
    assert runner.model.head.class_counts.tolist() == expected
    assert _long_tail_metric(runner).train_class_counts == expected
    meta = load_local_checkpoint(osp.join(cfg.work_dir, 'epoch_2.pth'))['meta']
    assert meta['train_class_counts'] == expected


def test_head_num_classes_must_match_the_dataset(tiny_shike_cfg,
                                                 run_in_process):
    cfg = tiny_shike_cfg()
    cfg.model.head.num_classes = 10
    with pytest.raises(ValueError) as error:
        run_in_process(cfg)
    message = str(error.value)
    assert message.startswith('model.head.num_classes=10, but the training '
                              'dataset CIFAR100LT')
    assert '(train_dataloader.dataset) has 100 classes' in message
    assert not glob.glob(osp.join(cfg.work_dir, '*.pth'))


def test_explicit_metric_counts_that_disagree_fail_before_training(
        tiny_shike_cfg, run_in_process):
    cfg = tiny_shike_cfg()
    cfg.val_evaluator = dict(type='LongTailMetric', class_counts=[5] * 100)
    with pytest.raises(ValueError) as error:
        run_in_process(cfg)
    message = str(error.value)
    assert ('LongTailMetric.class_counts (100 classes, 500 images) does not '
            'match the training dataset CIFAR100LT') in message
    assert not glob.glob(osp.join(cfg.work_dir, '*.pth'))


def test_val_split_of_another_class_set_fails_before_training(
        tiny_shike_cfg, fake_cifar, run_in_process):
    cfg = tiny_shike_cfg()
    cfg.val_dataloader.dataset.update(
        type='CIFAR10LT', data_root=fake_cifar('cifar10', 1, 1))
    with pytest.raises(ValueError) as error:
        run_in_process(cfg)
    assert str(error.value).startswith(
        'val_dataloader.dataset has 10 classes, but the training dataset '
        'CIFAR100LT')


def test_resume_on_other_training_counts_fails(tiny_shike_cfg, fake_cifar,
                                               run_in_process):
    first = tiny_shike_cfg(max_epochs=2, switch_epoch=1)
    run_in_process(first)
    resumed = tiny_shike_cfg(max_epochs=3, switch_epoch=1, work_dir='again')
    resumed.train_dataloader.dataset.update(
        data_root=fake_cifar('cifar100', 2, 1))
    resumed.resume = True
    resumed.load_from = osp.join(first.work_dir, 'epoch_2.pth')
    with pytest.raises(ValueError) as error:
        run_in_process(resumed)
    assert ('The loaded checkpoint was trained on 100 classes with 100 '
            'images, but the training dataset CIFAR100LT') in str(error.value)
    assert 'a resumed run must train on the same data' in str(error.value)


def test_testing_uses_the_counts_stored_in_the_checkpoint(
        tiny_shike_cfg, fake_cifar, run_in_process, tmp_path):
    trained = tiny_shike_cfg(max_epochs=2, switch_epoch=1)
    trained.train_dataloader.dataset.update(
        data_root=fake_cifar('cifar100', 4, 1), imb_factor=2)
    run_in_process(trained)
    checkpoint = osp.join(trained.work_dir, 'epoch_2.pth')

    # The test config's training split differs: the checkpoint wins.
    test_cfg = tiny_shike_cfg(work_dir='test')
    test_cfg.load_from = checkpoint
    runner = run_in_process(test_cfg, mode='test')
    assert _long_tail_metric(runner, 'test_loop').train_class_counts == \
        long_tail_counts(4, 100, 2)

    # A checkpoint without stored counts: the config's training split.
    old = load_local_checkpoint(checkpoint)
    del old['meta']['train_class_counts']
    old_checkpoint = str(tmp_path / 'old.pth')
    torch.save(old, old_checkpoint)
    test_cfg = tiny_shike_cfg(work_dir='test_old')
    test_cfg.load_from = old_checkpoint
    runner = run_in_process(test_cfg, mode='test')
    metric = _long_tail_metric(runner, 'test_loop')
    assert metric.train_class_counts == [1] * 100
    assert 'train_dataloader.dataset; the checkpoint stores no counts' in \
        metric.train_class_counts_source
