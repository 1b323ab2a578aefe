"""tools/train.py --auto-scale-lr needs the batch the LRs are set for."""
import pytest
from mmengine.config import Config

CIFAR_CONFIG = 'configs/shike/shike_r32_cifar100-lt-if100.py'
IMAGENET_CONFIG = 'configs/shike/shike_r50_imagenet-lt.py'


def _merged(train, config, *options):
    args = train.parse_args([config, '--auto-scale-lr', *options])
    return train.merge_args(Config.fromfile(config), args)


def test_a_config_without_a_base_batch_is_a_clear_error(load_tool):
    train = load_tool('train.py')
    with pytest.raises(ValueError) as error:
        _merged(train, CIFAR_CONFIG)
    assert str(error.value) == (
        f'auto_scale_lr is enabled (--auto-scale-lr), but {CIFAR_CONFIG} '
        'sets no auto_scale_lr.base_batch_size, the total batch its '
        'learning rates are set for, so there is nothing to scale from. '
        'Add auto_scale_lr = dict(base_batch_size=N) to the config (or '
        '--cfg-options auto_scale_lr.base_batch_size=N), or train without '
        '--auto-scale-lr')


def test_the_base_batch_may_come_from_the_command_line(load_tool):
    cfg = _merged(
        load_tool('train.py'), CIFAR_CONFIG, '--cfg-options',
        'auto_scale_lr.base_batch_size=128')
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=128)


def test_a_config_with_a_base_batch_is_scaled(load_tool):
    cfg = _merged(load_tool('train.py'), IMAGENET_CONFIG)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=256)
