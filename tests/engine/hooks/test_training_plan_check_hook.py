"""TrainingPlanCheckHook: a run that would train nothing, or only stage 1
of a two-stage head, stops before training."""
import glob
import os.path as osp

import pytest


def _checkpoints(work_dir):
    return glob.glob(osp.join(str(work_dir), '*.pth'))


def test_a_two_stage_head_without_the_switch_hook_fails_before_training(
        tiny_shike_cfg, run_in_process, read_log):
    cfg = tiny_shike_cfg(max_epochs=1)
    cfg.custom_hooks = []
    with pytest.raises(ValueError) as error:
        run_in_process(cfg)
    assert str(error.value) == (
        'model.head (SHIKEHead) has a stage 2 (bal_loss is set), but '
        'custom_hooks has no SHIKEStageSwitchHook to switch to it: only '
        'stage 1 would train, and the classifiers would never be re-trained '
        "with Balanced Softmax. Add dict(type='SHIKEStageSwitchHook', "
        'switch_epoch=..., stage2_lr_factor=...) to custom_hooks, or set '
        'model.head.bal_loss=None for a single-stage model')
    assert 'Epoch(train)' not in read_log(cfg.work_dir)
    assert not _checkpoints(cfg.work_dir)


def test_an_epoch_without_iterations_fails_before_training(
        tiny_shike_cfg, run_in_process):
    """100 images, batch 128, drop_last=True: no iteration at all."""
    cfg = tiny_shike_cfg(max_epochs=3)
    cfg.train_dataloader.update(batch_size=128, drop_last=True)
    with pytest.raises(ValueError) as error:
        run_in_process(cfg)
    assert str(error.value) == (
        'train_dataloader gives no iteration per epoch: CIFAR100LT '
        f"(data_root={cfg.train_dataloader.dataset.data_root!r}) has 100 "
        'samples per process, fewer than batch_size=128, and drop_last=True '
        'drops the incomplete batch, so every epoch would train nothing. '
        'Lower train_dataloader.batch_size, or set '
        'train_dataloader.drop_last=False')
    assert not _checkpoints(cfg.work_dir)


def test_a_partial_batch_kept_by_drop_last_false_trains(
        tiny_shike_cfg, run_in_process):
    cfg = tiny_shike_cfg(max_epochs=2, switch_epoch=1)
    cfg.train_dataloader.update(batch_size=128, drop_last=False)
    runner = run_in_process(cfg)
    assert runner.iter == 2
    assert osp.isfile(osp.join(cfg.work_dir, 'epoch_2.pth'))


SMOKE_CONFIG = 'configs/smoke/tiny-resnet_fake-images.py'


def test_train_tool_refuses_a_batch_larger_than_the_dataset(
        tmp_path, tiny_image_folder, run_tool):
    """The probe's case: 45 training images, batch 64 with drop_last."""
    work_dir = tmp_path / 'run'
    proc = run_tool(
        'train.py',
        SMOKE_CONFIG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        f'train_dataloader.dataset.data_root={tiny_image_folder}',
        f'val_dataloader.dataset.data_root={tiny_image_folder}',
        'train_dataloader.batch_size=64',
        'train_dataloader.drop_last=True',
        check=False)
    assert proc.returncode != 0
    assert ('train.py: error: train_dataloader gives no iteration per epoch: '
            f"CustomDataset (ann_file='{tiny_image_folder}/train.txt') has 45 "
            'samples per process, fewer than batch_size=64') in proc.stderr
    assert not _checkpoints(work_dir)
