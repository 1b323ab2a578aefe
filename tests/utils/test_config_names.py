"""``shike_mm::`` config names work wherever MMEngine and MMPretrain take a
config name, after ``import shike_mm``, and without ``pkg_resources``."""
import os.path as osp
import subprocess
import sys

import mmengine.hub
import numpy as np
import pytest
import torch
from helpers import REPO_ROOT
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmpretrain import ImageClassificationInferencer, get_model, init_model

import shike_mm  # noqa: F401  (registers the names)
from shike_mm.utils import find_config
from shike_mm.utils.hub import register_config_names

DIGITS = 'shike_mm::shike/shike_r32_digits-lt.py'


@pytest.fixture
def without_pkg_resources(monkeypatch):
    """``import pkg_resources`` fails, as with setuptools >= 82."""
    monkeypatch.setitem(sys.modules, 'pkg_resources', None)
    with pytest.raises(ImportError):
        import pkg_resources  # noqa: F401


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_user_config_inherits_a_shike_mm_base(tmp_path, without_pkg_resources):
    user = _write(
        tmp_path / 'user.py', f"_base_ = ['{DIGITS}']\n"
        'model = dict(head=dict(num_classes=7))\n')
    cfg = Config.fromfile(user)
    assert cfg.model.head.type == 'SHIKEHead'
    assert cfg.model.head.num_classes == 7
    assert cfg.train_cfg.max_epochs == 30
    # The components are registered in MMPretrain's registries, so they
    # build from a config of another scope too.
    assert cfg.model._scope_ == 'mmpretrain'
    with DefaultScope.overwrite_default_scope('mmengine'):
        model = MODELS.build(cfg.model)
    assert type(model.head).__name__ == 'SHIKEHead'


def test_mmengine_hub_get_config(without_pkg_resources):
    for name in (DIGITS, 'shike_mm::configs/shike/shike_r32_digits-lt.py'):
        cfg = mmengine.hub.get_config(name)
        assert cfg.filename == find_config('shike/shike_r32_digits-lt.py')
    with pytest.raises(ValueError, match='no released checkpoint'):
        mmengine.hub.get_config(DIGITS, pretrained=True)


def test_mmpretrain_apis_take_the_name(tmp_path, without_pkg_resources):
    model = get_model(DIGITS)
    assert type(model.head).__name__ == 'SHIKEHead'
    path = tmp_path / 'weights.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    loaded = init_model(DIGITS, str(path))
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    inferencer = ImageClassificationInferencer(
        DIGITS, pretrained=str(path), device='cpu')
    result, = inferencer(np.zeros((32, 32, 3), dtype=np.uint8))
    assert result['pred_scores'].shape == (10, )


def test_other_package_names_still_go_to_mmengine(tmp_path):
    user = _write(tmp_path / 'user.py', "_base_ = ['not_a_package::x/y.py']\n")
    with pytest.raises(AssertionError, match='not_a_package'):
        Config.fromfile(user)
    with pytest.raises(AssertionError, match='not_a_package'):
        mmengine.hub.get_config('not_a_package::x/y.py')


def test_a_missing_config_names_the_searched_folders():
    with pytest.raises(FileNotFoundError, match='under the shipped configs'):
        Config.fromfile('shike_mm::shike/no_such.py')


def test_registering_again_does_not_wrap_twice():
    wrapped = (Config._get_cfg_path, Config.fromfile, mmengine.hub.get_config)
    register_config_names()
    assert (Config._get_cfg_path, Config.fromfile,
            mmengine.hub.get_config) == wrapped


SCRIPT = """
import runpy, sys
sys.modules['pkg_resources'] = None  # as with setuptools >= 82
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


def test_tools_run_without_pkg_resources(tmp_path, tiny_image_folder):
    """tools/train.py and tools/test.py on a user config whose base is
    ``shike_mm::smoke/...``, in a process where ``pkg_resources`` cannot be
    imported."""
    loader = f"dict(dataset=dict(data_root='{tiny_image_folder}'))"
    user = _write(
        tmp_path / 'user_smoke.py',
        "_base_ = ['shike_mm::smoke/tiny-resnet_fake-images.py']\n"
        f'train_dataloader = {loader}\n'
        f'val_dataloader = {loader}\n'
        f'test_dataloader = {loader}\n'
        'train_cfg = dict(max_epochs=1)\n')
    work_dir = tmp_path / 'work'

    def run(tool, *args):
        proc = subprocess.run([
            sys.executable, '-c', SCRIPT,
            osp.join(REPO_ROOT, 'tools', tool), *map(str, args)
        ],
                              cwd=str(tmp_path),
                              capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout + proc.stderr

    run('train.py', user, '--work-dir', work_dir)
    log = run('test.py', user, work_dir / 'epoch_1.pth', '--work-dir',
              work_dir)
    assert 'accuracy/top1' in log
