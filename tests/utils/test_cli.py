"""The options, config loading and error reports the tools share."""
import argparse
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

from shike_mm.utils import find_config
from shike_mm.utils.checkpoint import TRUST_ENV
from shike_mm.utils.cli import (add_cfg_options, add_device,
                                add_trust_checkpoint, load_config, run_tool,
                                set_work_dir)

DIGITS = 'shike/shike_r32_digits-lt.py'


def test_cfg_options_parse_into_a_dict():
    parser = argparse.ArgumentParser()
    add_cfg_options(parser)
    args = parser.parse_args(
        ['--cfg-options', 'model.head.num_classes=7', 'work_dir=out'])
    assert args.cfg_options == {'model.head.num_classes': 7, 'work_dir': 'out'}
    assert parser.parse_args([]).cfg_options is None


def test_device_defaults_to_the_cpu_or_an_available_gpu():
    plain, gpu_first = argparse.ArgumentParser(), argparse.ArgumentParser()
    add_device(plain)
    add_device(gpu_first, prefer_gpu=True)
    assert plain.parse_args([]).device == 'cpu'
    assert gpu_first.parse_args(
        []).device == ('cuda' if torch.cuda.is_available() else 'cpu')
    assert plain.parse_args(['--device', 'cuda:1']).device == 'cuda:1'


def test_trust_checkpoint_trusts_only_when_given(monkeypatch):
    # setenv first: undoing a delenv of an unset variable would leave the
    # '1' the option sets to every later test of the session.
    monkeypatch.setenv(TRUST_ENV, '0')
    monkeypatch.delenv(TRUST_ENV)
    parser = argparse.ArgumentParser()
    add_trust_checkpoint(parser, 'the checkpoint')
    assert parser.parse_args([]).trust_checkpoint is False
    assert TRUST_ENV not in os.environ
    assert parser.parse_args(['--trust-checkpoint']).trust_checkpoint
    assert os.environ[TRUST_ENV] == '1'


@pytest.mark.parametrize('name', [DIGITS, f'shike_mm::{DIGITS}'])
def test_load_config_by_shipped_name_with_overrides(name):
    init_default_scope('mmengine')
    cfg = load_config(name, {'model.head.num_classes': 7})
    assert cfg.filename == find_config(DIGITS)
    assert cfg.model.head.num_classes == 7
    assert DefaultScope.get_current_instance().scope_name == 'mmpretrain'


def test_load_config_of_another_package():
    cfg = load_config('mmpretrain::resnet/resnet50_8xb32_in1k.py')
    assert cfg.model.backbone.depth == 50


@pytest.mark.parametrize('name, message', [
    ('no_such_package::a/b.py', "package 'no_such_package' is not installed"),
    ('mmpretrain::resnet/no_such_config.py',
     'mmpretrain ships no config resnet/no_such_config.py'),
])
def test_load_config_of_a_missing_package_or_config_is_a_tool_error(
        name, message):
    with pytest.raises(ValueError, match=message):
        load_config(name)


def test_work_dir_from_the_option_the_config_or_its_name():
    cfg = Config(dict(work_dir='from_config'))
    set_work_dir(cfg, 'given', 'configs/x.py')
    assert cfg.work_dir == 'given'
    cfg = Config(dict(work_dir='from_config'))
    set_work_dir(cfg, None, 'configs/x.py')
    assert cfg.work_dir == 'from_config'
    cfg = Config(dict())
    set_work_dir(cfg, None, 'configs/shike/x_y.py')
    assert cfg.work_dir == os.path.join('./work_dirs', 'x_y')


def test_run_tool_reports_a_tool_error_in_one_line(monkeypatch):
    monkeypatch.setattr('sys.argv', ['tools/analysis_tools/some_tool.py'])

    def fails():
        raise FileNotFoundError('missing.pth does not exist')

    with pytest.raises(SystemExit) as done:
        run_tool(fails)
    assert done.value.code == 'some_tool.py: error: missing.pth does not ' \
        'exist'


def test_run_tool_leaves_other_errors_to_the_traceback():

    def fails():
        raise KeyError('a bug')

    with pytest.raises(KeyError):
        run_tool(fails)
