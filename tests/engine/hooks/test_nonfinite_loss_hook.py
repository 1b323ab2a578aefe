"""NonFiniteLossHook: a diverged run stops, or skips and counts its
non-finite steps."""
import glob
import os.path as osp
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner

from shike_mm.engine.hooks import NonFiniteLossError, NonFiniteLossHook
from shike_mm.testing import bypass_cifar_md5
from shike_mm.utils import load_local_checkpoint


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
        model=model,
        optim_wrapper=wrapper,
        epoch=0,
        iter=0,
        logger=mock.Mock())
    return runner, model


def _train_iter(hook, runner, model, forward):
    """One iteration as the train loop runs it; ``forward()`` gives the
    loss."""
    hook.before_train_iter(runner, 0)
    loss = forward()
    runner.optim_wrapper.update_params(loss)
    hook.after_train_iter(runner, 0, outputs={'loss': loss.detach()})


def test_skip_mode_skips_non_finite_steps_and_counts_them():
    hook = NonFiniteLossHook(action='skip')
    runner, model = _runner_with_a_linear_model()
    hook.before_train(runner)
    hook.before_train_epoch(runner)

    weight = model.weight.detach().clone()
    _train_iter(hook, runner, model,
                lambda: model(torch.ones(1, 2)).sum() * float('nan'))
    assert torch.equal(model.weight, weight)  # skipped
    _train_iter(hook, runner, model, lambda: model(torch.ones(1, 2)).sum())
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
                    lambda: model(torch.ones(1, 2)).sum() * float('inf'))
    with pytest.raises(NonFiniteLossError, match='nothing was trained'):
        hook.after_train_epoch(runner)


def test_unknown_action():
    with pytest.raises(ValueError, match="action must be one of"):
        NonFiniteLossHook(action='ignore')


class BatchNormModel(torch.nn.Module):
    """Linear, then BatchNorm: a batch with huge inputs makes the loss or
    the running variance non-finite."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 2)
        self.bn = torch.nn.BatchNorm1d(2)

    def forward(self, x):
        return self.bn(self.linear(x)).pow(2).sum()


def _runner_with_batchnorm():
    torch.manual_seed(0)
    model = BatchNormModel()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    return SimpleNamespace(
        model=model,
        optim_wrapper=wrapper,
        epoch=0,
        iter=0,
        logger=mock.Mock()), model


def _bn_state(model):
    return {k: v.clone() for k, v in model.bn.state_dict().items()}


def test_a_skipped_step_leaves_the_batchnorm_statistics_as_they_were():
    hook = NonFiniteLossHook(action='skip')
    runner, model = _runner_with_batchnorm()
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    _train_iter(hook, runner, model, lambda: model(torch.randn(4, 2)))
    before = _bn_state(model)
    # An inf input: a NaN loss, NaN gradients, NaN running statistics.
    _train_iter(hook, runner, model,
                lambda: model(torch.tensor([[float('inf'), 1.0], [0.0, 1.0]])))
    assert hook._skipped == 1
    after = _bn_state(model)
    assert after.keys() == before.keys()
    for key in before:
        assert torch.equal(after[key], before[key]), key


def test_statistics_that_overflow_under_a_finite_loss_are_restored():
    """Inputs of 1e30: the batch variance overflows float32 to inf, the
    normalised outputs and the loss stay finite; the running variance is
    put back."""
    hook = NonFiniteLossHook(action='skip')
    runner, model = _runner_with_batchnorm()
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    before = _bn_state(model)
    hook.before_train_iter(runner, 0)
    loss = model(torch.tensor([[1e30, 0.0], [-1e30, 0.0], [0.0, 1.0]]))
    assert torch.isfinite(loss)
    assert not torch.isfinite(model.bn.running_var).all()
    runner.optim_wrapper.update_params(loss)
    hook.after_train_iter(runner, 0, outputs={'loss': loss.detach()})
    for key, value in _bn_state(model).items():
        assert torch.equal(value, before[key]), key
    hook.after_train_epoch(runner)
    (call, ) = runner.logger.warning.call_args_list
    assert call.args[0].endswith(
        '0 iterations with a non-finite loss; BatchNorm running statistics '
        'restored in 1 iterations')


class PoisonSecondIteration(Hook):
    """Turns the backbone's input of the second iteration into inf, as a
    diverging step would: NaN activations, loss and gradients."""

    def before_train(self, runner):
        self.poison = False
        runner.model.backbone.register_forward_pre_hook(lambda module, args: (
            args[0] * float('inf'), ) if self.poison else None)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.poison = batch_idx == 1


def test_skip_mode_saves_finite_batchnorm_statistics(tiny_shike_cfg):
    """The probe's case on the real CIFAR model: the second step is NaN
    and skipped; the saved checkpoint's running statistics are those of
    the first."""
    cfg = tiny_shike_cfg(max_epochs=1)
    cfg.custom_hooks = []
    cfg.model.head.bal_loss = None  # one epoch: stage 1 only
    cfg.train_dataloader.batch_size = 50  # two steps
    cfg.default_hooks.nonfinite_loss.action = 'skip'
    with bypass_cifar_md5():
        runner = Runner.from_cfg(cfg)
        runner.register_hook(PoisonSecondIteration())
        runner.train()
    state = load_local_checkpoint(osp.join(cfg.work_dir,
                                           'epoch_1.pth'))['state_dict']
    stats = {k: v for k, v in state.items() if 'running' in k}
    assert stats and all(torch.isfinite(v).all() for v in stats.values())
    assert int(state['backbone.bn1.num_batches_tracked']) == 1
