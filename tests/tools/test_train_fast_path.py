"""tools/train.py: bf16 AMP, channels-last and torch.compile as config
options, with the CPU fallbacks said out loud."""
import os.path as osp
from unittest import mock

import pytest
import torch
from mmengine.config import Config

from shike_mm.utils import find_config

CIFAR_CONFIG = 'shike/shike_r32_cifar100-lt-if100.py'
DIGITS_CONFIG = 'shike/shike_r32_digits-lt.py'
SMOKE_CONFIG = 'configs/smoke/tiny-resnet_fake-images.py'
BF16 = 'optim_wrapper.dtype=bfloat16'


@pytest.fixture(scope='module')
def train_tool(load_tool):
    return load_tool('train.py')


def _merged(train_tool, *argv, gpu):
    """The config ``tools/train.py CONFIG argv`` runs, on a machine with or
    without a GPU, and the warnings it logged."""
    args = train_tool.parse_args(list(argv))
    cfg = Config.fromfile(find_config(args.config))
    with mock.patch.object(torch.cuda, 'is_available', return_value=gpu), \
            mock.patch.object(train_tool, 'print_log') as print_log:
        cfg = train_tool.merge_args(cfg, args)
    return cfg, [call.args[0] for call in print_log.call_args_list]


def test_bf16_is_kept_on_a_gpu(train_tool):
    cfg, warnings = _merged(
        train_tool, CIFAR_CONFIG, '--cfg-options', BF16, gpu=True)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert not warnings
    # --amp turns a fp32 config into bf16 AMP with the same option
    cfg, _ = _merged(
        train_tool, DIGITS_CONFIG, '--amp', '--cfg-options', BF16, gpu=True)
    assert (cfg.optim_wrapper.type, cfg.optim_wrapper.dtype,
            cfg.optim_wrapper.loss_scale) == ('AmpOptimWrapper', 'bfloat16',
                                              'dynamic')


@pytest.mark.parametrize('argv, dtype', [
    ((CIFAR_CONFIG, ), 'float16'),
    ((CIFAR_CONFIG, '--cfg-options', BF16), 'bfloat16'),
    ((DIGITS_CONFIG, '--amp', '--cfg-options', BF16), 'bfloat16'),
])
def test_amp_trains_in_fp32_without_a_gpu(train_tool, argv, dtype):
    cfg, warnings = _merged(train_tool, *argv, gpu=False)
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert not {'dtype', 'loss_scale'} & set(cfg.optim_wrapper)
    assert warnings == [
        f'No GPU: AmpOptimWrapper ({dtype}) replaced by OptimWrapper '
        "(fp32); MMEngine's AMP wrapper needs a GPU."
    ]


def test_compile_without_a_cpp_compiler_is_skipped(train_tool,
                                                   no_cpp_compiler):
    for option in ('compile=True', 'compile.mode=max-autotune'):
        cfg, warnings = _merged(
            train_tool, DIGITS_CONFIG, '--cfg-options', option, gpu=False)
        assert cfg.compile is False
        (warning, ) = warnings
        assert warning.startswith('torch.compile skipped, training '
                                  'uncompiled: inductor needs a C++ '
                                  'compiler for the CPU')
    # another backend needs no compiler
    cfg, warnings = _merged(
        train_tool,
        DIGITS_CONFIG,
        '--cfg-options',
        'compile.backend=eager',
        gpu=False)
    assert cfg.compile == dict(backend='eager') and not warnings


def test_bf16_channels_last_and_compile_train_on_the_cpu(
        tmp_path, tiny_image_folder, run_tool):
    """All three options together: one step of the smoke model cut to its
    first stage, compiled with the eager backend (inductor takes minutes
    here, see docs/performance.md)."""
    proc = run_tool(
        'train.py', SMOKE_CONFIG, '--work-dir', tmp_path, '--amp',
        '--cfg-options', BF16, 'default_hooks.channels_last.enable=True',
        'compile.backend=eager', 'train_cfg.max_epochs=1',
        'model.backbone.num_stages=1', 'model.backbone.out_indices=0,',
        'model.backbone.strides=1,', 'model.backbone.dilations=1,',
        'model.head.in_channels=8', 'train_dataloader.batch_size=45',
        f'train_dataloader.dataset.data_root={tiny_image_folder}',
        f'val_dataloader.dataset.data_root={tiny_image_folder}')
    log = proc.stdout + proc.stderr
    if not torch.cuda.is_available():
        assert 'No GPU: AmpOptimWrapper (bfloat16) replaced by ' \
            'OptimWrapper (fp32)' in log
    assert 'ChannelsLastHook: inputs in channels-last memory format, and ' \
        'the weights' in log
    assert 'Model has been "compiled"' in log
    assert 'Epoch(train) [1][1/1]' in log
    assert osp.isfile(tmp_path / 'epoch_1.pth')
