"""The large-scale SHIKE schedules give the documented learning rates.

The schedules are replayed as MMEngine's runner drives them, without a
model: the runner builds each scheduler (per iteration when
``convert_to_iter_based``), SHIKEStageSwitchHook sets
``stage2_lr_factor`` times the optimizer's lr before the switch epoch,
ParamSchedulerHook steps iteration-based schedulers after every iteration
and epoch-based ones after every epoch. The replay of the
official CIFAR schedule must give the official values, which the hook's
own tests check on a real run.
"""
import math

import pytest
from helpers import official_cifar_lr, replay_lr
from mmengine.config import Config

from shike_mm.utils import find_config


def _schedule(name):
    return Config.fromfile(find_config(f'_base_/schedules/{name}'))


def test_replay_reproduces_the_official_cifar_schedule():
    cfg = _schedule('shike_cifar_200e.py')
    lrs = replay_lr(cfg, epoch_length=1)
    assert [epoch[0] for epoch in lrs
            ] == pytest.approx([official_cifar_lr(e) for e in range(200)],
                               abs=1e-12)


def test_sgd_schedule_is_the_cifar_shape_scaled_to_lr_0_1():
    cfg = _schedule('shike_sgd_200e_switch180.py')
    assert cfg.base_lr == 0.1 and cfg.optim_wrapper.optimizer.lr == 0.1
    assert cfg.optim_wrapper.optimizer.weight_decay == 5e-4
    assert cfg.auto_scale_lr.base_batch_size == 256
    lrs = replay_lr(cfg, epoch_length=1)
    scale = 0.1 / 0.15
    assert [epoch[0] for epoch in lrs] == pytest.approx(
        [scale * official_cifar_lr(e) for e in range(200)], abs=1e-12)
    assert lrs[5][0] == pytest.approx(0.1)
    assert lrs[180][0] == pytest.approx(0.025)


def test_adamw_schedule_warms_up_per_iteration_and_restarts_at_switch():
    cfg = _schedule('shike_adamw_200e_switch180.py')
    epoch_length = 4
    lrs = replay_lr(cfg, epoch_length)
    base_lr = cfg.base_lr
    warmup = [lr for epoch in lrs[:10] for lr in epoch]
    assert warmup[0] == pytest.approx(base_lr * 1e-3)
    assert warmup == sorted(warmup) and len(set(warmup)) == len(warmup)
    assert lrs[10][0] == pytest.approx(base_lr)
    assert lrs[179][-1] == pytest.approx(1e-5, rel=0.05)
    # stage 2: per-epoch cosine from base_lr / 2 to 0 over 20 epochs
    for k in range(20):
        expected = base_lr / 4 * (1 + math.cos(math.pi * k / 20))
        assert lrs[180 + k] == pytest.approx([expected] * epoch_length)


def test_places_schedule_fine_tunes_for_30_epochs():
    cfg = _schedule('shike_sgd_30e_finetune_switch25.py')
    epoch_length = 5
    lrs = replay_lr(cfg, epoch_length)
    assert len(lrs) == 30
    assert lrs[0][0] == pytest.approx(0.002)
    assert lrs[0] == sorted(lrs[0])
    for epoch in range(1, 25):
        expected = 0.01 * (1 + math.cos(math.pi * (epoch - 1) / 24))
        assert lrs[epoch] == pytest.approx([expected] * epoch_length)
    for k in range(5):
        expected = 0.005 * (1 + math.cos(math.pi * k / 5))
        assert lrs[25 + k] == pytest.approx([expected] * epoch_length)
