"""In-process runs of the real CIFAR-100-LT IF100 config on 100 fake
images (one per class, one batch per epoch), for the hook tests."""
import glob
import os.path as osp

import pytest
from helpers import LOADERS, if100_on_fake_cifar
from mmengine.runner import Runner

from shike_mm.testing import bypass_cifar_md5


@pytest.fixture
def tiny_shike_cfg(tmp_path, fake_cifar):
    """Factory ``tiny_shike_cfg(max_epochs=3, switch_epoch=2,
    work_dir='run')``: the real IF100 config (fp32, no LR schedule, no
    augmentation) on one fake image per class, one batch per epoch."""

    def make(max_epochs=3, switch_epoch=2, work_dir='run'):
        cfg = if100_on_fake_cifar(
            fake_cifar('cifar100', 1, 1),
            imb_factor=1,
            max_epochs=max_epochs,
            switch_epoch=switch_epoch)
        for loader in LOADERS:
            cfg[loader].batch_size = 100
        cfg.train_dataloader.dataset.pipeline = [dict(type='PackInputs')]
        cfg.optim_wrapper = dict(
            type='OptimWrapper', optimizer=cfg.optim_wrapper.optimizer)
        cfg.work_dir = str(tmp_path / work_dir)
        # Not deterministic=True: it would switch torch's global mode for
        # the rest of the test session.
        cfg.randomness = dict(seed=0)
        return cfg

    return make


@pytest.fixture
def run_in_process():
    """``run_in_process(cfg, mode='train')`` builds a Runner from ``cfg``
    (fake CIFAR md5 checks off) and trains or tests it; returns the
    runner."""

    def run(cfg, mode='train'):
        with bypass_cifar_md5():
            runner = Runner.from_cfg(cfg)
            getattr(runner, mode)()
        return runner

    return run


@pytest.fixture
def read_log():
    """``read_log(work_dir)``: everything the runs in ``work_dir`` wrote to
    their log files."""

    def read(work_dir) -> str:
        return ''.join(
            open(path).read() for path in sorted(
                glob.glob(osp.join(str(work_dir), '*', '*.log'))))

    return read
