"""ChannelOrderCheckHook: datasets and the data preprocessor must agree on
the channel order before any training or testing."""
import glob
import os.path as osp

import pytest


def test_bgr_dataset_with_to_rgb_false_fails_before_training(
        tiny_shike_cfg, run_in_process):
    cfg = tiny_shike_cfg()
    cfg.data_preprocessor.to_rgb = False
    with pytest.raises(ValueError) as error:
        run_in_process(cfg)
    assert str(error.value) == (
        "train_dataloader.dataset serves BGR images (channel_order='bgr'), "
        'but the data preprocessor has to_rgb=False; set '
        'data_preprocessor.to_rgb=True (with R, G, B mean/std) or the '
        "dataset's channel_order='rgb'")
    assert not glob.glob(osp.join(cfg.work_dir, '*.pth'))


def test_rgb_test_dataset_with_to_rgb_fails_before_testing(
        tiny_shike_cfg, run_in_process):
    cfg = tiny_shike_cfg()
    cfg.test_dataloader.dataset.channel_order = 'rgb'
    with pytest.raises(ValueError) as error:
        run_in_process(cfg, mode='test')
    assert str(error.value).startswith(
        "test_dataloader.dataset serves RGB images (channel_order='rgb'), "
        'but the data preprocessor has to_rgb=True')


def test_agreeing_rgb_datasets_run(tiny_shike_cfg, run_in_process):
    cfg = tiny_shike_cfg(max_epochs=2, switch_epoch=1)
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.channel_order = 'rgb'
    cfg.data_preprocessor.to_rgb = False
    run_in_process(cfg)
    assert osp.isfile(osp.join(cfg.work_dir, 'epoch_2.pth'))
