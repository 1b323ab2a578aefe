"""The digits-LT configs: documented LR schedules and the baseline model."""
import math
import os.path as osp

import pytest
from helpers import REPO_ROOT, LearningRateRecorder
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

import shike_mm  # noqa: F401  (registers the components)

SHIKE_CONFIG = osp.join(REPO_ROOT, 'configs/shike/shike_r32_digits-lt.py')
BASELINE_CONFIG = osp.join(
    REPO_ROOT, 'configs/shike/shike_r32_digits-lt_single-expert-ce.py')


def shike_lr(epoch):
    """The schedule written in shike_r32_digits-lt.py."""
    if epoch < 2:
        return 0.05 * (epoch + 1) / 3
    if epoch < 24:
        return 0.025 * (1 + math.cos(math.pi * (epoch - 2) / 22))
    k = epoch - 24
    if k == 0:
        return 0.0125
    return 0.0125 * (1 + math.cos(math.pi * (k - 1) / 5))


def baseline_lr(epoch):
    """The schedule written in shike_r32_digits-lt_single-expert-ce.py."""
    if epoch < 2:
        return 0.05 * (epoch + 1) / 3
    return 0.025 * (1 + math.cos(math.pi * (epoch - 2) / 28))


def _epoch_lrs(config, work_dir):
    """Train ``config`` with one no-op step per epoch; the LR of each
    epoch."""
    cfg = Config.fromfile(config)
    cfg.work_dir = str(work_dir)
    # The whole split (every class needs its images) in one batch.
    cfg.train_dataloader.update(batch_size=500, drop_last=False)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1000, save_last=False)
    runner = Runner.from_cfg(cfg)

    def step_without_compute(data, optim_wrapper):
        optim_wrapper.step()  # the schedule needs no forward pass
        return {}

    runner.model.train_step = step_without_compute
    recorder = LearningRateRecorder()
    runner.register_hook(recorder)
    runner.train()
    return recorder.lrs


@pytest.mark.parametrize('config, expected_lr',
                         [(SHIKE_CONFIG, shike_lr),
                          (BASELINE_CONFIG, baseline_lr)])
def test_schedule_matches_the_documented_lr_every_epoch(
        config, expected_lr, tmp_path):
    lrs = _epoch_lrs(config, tmp_path)
    assert len(lrs) == 30
    for epoch, lr in enumerate(lrs):
        assert lr == pytest.approx(expected_lr(epoch), abs=1e-9), epoch


def test_baseline_is_one_plain_cross_entropy_expert():
    init_default_scope('mmpretrain')
    shike = Config.fromfile(SHIKE_CONFIG)
    baseline = Config.fromfile(BASELINE_CONFIG)
    assert baseline.custom_hooks == []
    assert baseline.train_cfg == shike.train_cfg
    assert baseline.train_dataloader == shike.train_dataloader
    assert baseline.test_evaluator == shike.test_evaluator

    model = MODELS.build(baseline.model)
    assert model.neck.num_experts == model.head.num_experts == 1
    assert not model.neck.fuse
    assert model.head.dkt_loss is None and model.head.mkd_loss is None


def test_kd_losses_have_the_cifar100_strength_per_sample():
    """DKT and MKD act with the per-sample strength of the official
    CIFAR-100 recipe (weight 10 and 1 averaged over B x C, C = 100)."""
    import torch
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    digits = MODELS.build(Config.fromfile(SHIKE_CONFIG).model.head)
    cifar_config = osp.join(REPO_ROOT,
                            'configs/shike/shike_r32_cifar100-lt-if100.py')
    cifar = MODELS.build(Config.fromfile(cifar_config).model.head)
    batch = 8
    for num_classes, head in ((10, digits), (100, cifar)):
        logits = (torch.rand(3, batch, num_classes) * 60 - 30).double()
        target = torch.randint(num_classes, (batch, ))
        # Per sample, summed over classes: a batchmean KL with weight 1.
        unit_dkt = type(head.dkt_loss)(
            loss_weight=1.0, reduction='batchmean', scale=head.scale)
        unit_mkd = type(head.mkd_loss)(loss_weight=1.0, reduction='batchmean')
        torch.testing.assert_close(
            head.dkt_loss(logits, target) / unit_dkt(logits, target),
            torch.tensor(0.1, dtype=torch.float64))
        torch.testing.assert_close(
            head.mkd_loss(logits) / unit_mkd(logits),
            torch.tensor(0.01, dtype=torch.float64))


@pytest.mark.parametrize('config', [SHIKE_CONFIG, BASELINE_CONFIG])
def test_held_out_config_trains_on_the_rest_of_the_same_split(config):
    from mmpretrain.registry import DATASETS

    from shike_mm.datasets import get_train_class_counts
    held_out_config = config.replace('.py', '_held-out.py')
    base, held_out = Config.fromfile(config), Config.fromfile(held_out_config)
    init_default_scope('mmpretrain')
    wrapper = held_out.train_dataloader.dataset
    assert (wrapper.type, wrapper.part, wrapper.fraction,
            wrapper.seed) == ('HeldOutSplit', 'train', 0.2, 0)
    assert wrapper.dataset == base.train_dataloader.dataset
    # Everything but the training dataset is the base recipe.
    assert held_out.model == base.model
    assert held_out.param_scheduler == base.param_scheduler
    full = get_train_class_counts(
        DATASETS.build(base.train_dataloader.dataset))
    kept = get_train_class_counts(DATASETS.build(wrapper))
    # round(0.2 * n) of each class held out, at least one image kept.
    assert kept == [n - min(int(0.2 * n + 0.5), n - 1) for n in full]
    assert sum(kept) == 333
