"""Every CIFAR config builds its model and differs only where it says."""
import os.path as osp

import pytest
import torch
from helpers import REPO_ROOT
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import shike_mm  # noqa: F401

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'shike')


def _cfg(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name))


@pytest.mark.parametrize('name, imb_factor, num_classes, dataset_type', [
    ('shike_r32_cifar100-lt-if100.py', 100, 100, 'CIFAR100LT'),
    ('shike_r32_cifar100-lt-if50.py', 50, 100, 'CIFAR100LT'),
    ('shike_r32_cifar100-lt-if10.py', 10, 100, 'CIFAR100LT'),
    ('shike_r32_cifar10-lt-if100.py', 100, 10, 'CIFAR10LT'),
])
def test_recipe_configs(name, imb_factor, num_classes, dataset_type):
    cfg = _cfg(name)
    for loader in (cfg.train_dataloader, cfg.val_dataloader,
                   cfg.test_dataloader):
        assert loader.dataset.type == dataset_type
        assert loader.dataset.imb_factor == imb_factor
    assert cfg.train_dataloader.dataset.subset_rule == 'first'
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.model.head.num_classes == num_classes
    assert cfg.data_preprocessor.num_classes == num_classes
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.9, 5e-4)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.randomness.seed == 123
    assert cfg.train_cfg.max_epochs == 200
    (hook, ) = cfg.custom_hooks
    assert (hook.type, hook.switch_epoch) == ('SHIKEStageSwitchHook', 180)
    assert cfg.val_evaluator.type == 'LongTailMetric'
    assert cfg.default_hooks.checkpoint.save_best == 'lt/top1'


@pytest.mark.parametrize('name, experts, fuse, losses', [
    ('shike_r32_cifar100-lt-if100.py', 3, True,
     {'loss_ce', 'loss_dkt', 'loss_mkd'}),
    ('shike_r32_cifar100-lt-if100_moe-dkf-mkd.py', 3, True,
     {'loss_ce', 'loss_mkd'}),
    ('shike_r32_cifar100-lt-if100_moe-dkf.py', 3, True, {'loss_ce'}),
    ('shike_r32_cifar100-lt-if100_moe.py', 3, False, {'loss_ce'}),
    ('shike_r32_cifar100-lt-if100_single-expert-ce.py', 1, False, {'loss_ce'}),
])
def test_ablations_train_the_components_they_name(name, experts, fuse, losses):
    init_default_scope('mmpretrain')
    model = MODELS.build(_cfg(name).model)
    assert model.neck.num_experts == model.head.num_experts == experts
    assert (model.neck.aligners is not None) == fuse
    inputs = torch.rand(4, 3, 32, 32)
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    assert set(model(inputs, samples, mode='loss')) == losses
