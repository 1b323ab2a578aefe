"""NonFiniteLossHook: a diverged run stops, or skips and counts its
non-finite steps."""
import glob
import os.path as osp
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from mmengine.optim import OptimWrapper

from shike_mm.engine.hooks import NonFiniteLossError, NonFiniteLossHook


def test_a_diverging_run_stops_with_the_epoch_and_the_terms(
        tiny_shike_cfg, run_in_process):
    cfg = tiny_shike_cfg(max_epochs=3, switch_epoch=2)
    cfg.optim_wrapper.optimizer.lr = 1e30
    cfg.train_dataloader.batch_size = 50  # two steps per epoch
    with pytest.raises(NonFiniteLossError) as error:
        run_in_process(cfg)
    assert str(error.value).startswith(
        'Non-finite loss at epoch 1, iteration 2 (loss=nan, loss_ce=nan, '
        'loss_dkt=nan, loss_mkd=nan): training has diverged.')
    assert not glob.glob(osp.join(cfg.work_dir, '*.pth'))


def _runner_with_a_linear_model():
    model = torch.nn.Linear(2, 1)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    runner = SimpleNamespace(
        optim_wrapper=wrapper, epoch=0, iter=0, logger=mock.Mock())
    return runner, model


def _train_iter(hook, runner, model, loss):
    runner.optim_wrapper.update_params(loss)
    hook.after_train_iter(runner, 0, outputs={'loss': loss.detach()})


def test_skip_mode_skips_non_finite_steps_and_counts_them():
    hook = NonFiniteLossHook(action='skip')
    runner, model = _runner_with_a_linear_model()
    hook.before_train(runner)
    hook.before_train_epoch(runner)

    weight = model.weight.detach().clone()
    _train_iter(hook, runner, model,
                model(torch.ones(1, 2)).sum() * float('nan'))
    assert torch.equal(model.weight, weight)  # skipped
    _train_iter(hook, runner, model, model(torch.ones(1, 2)).sum())
    assert not torch.equal(model.weight, weight)  # stepped

    hook.after_train_epoch(runner)
    runner.logger.warning.assert_called_once_with(
        'NonFiniteLossHook: epoch 1: 1 of 2 optimizer steps skipped for '
        'non-finite gradients, 1 iterations with a non-finite loss')


def test_skip_mode_stops_when_a_whole_epoch_was_skipped():
    hook = NonFiniteLossHook(action='skip')
    runner, model = _runner_with_a_linear_model()
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    for _ in range(2):
        _train_iter(hook, runner, model,
                    model(torch.ones(1, 2)).sum() * float('inf'))
    with pytest.raises(NonFiniteLossError, match='nothing was trained'):
        hook.after_train_epoch(runner)


def test_unknown_action():
    with pytest.raises(ValueError, match="action must be one of"):
        NonFiniteLossHook(action='ignore')
