"""Stop a diverged run, or skip its non-finite steps and count them."""
import math
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmpretrain.registry import HOOKS
from torch.nn.modules.batchnorm import _BatchNorm

ACTIONS = ('error', 'skip')


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Never let a diverged run go on as if nothing happened.

    With a learning rate too large, losses become NaN; the optimizer steps
    spread NaN into every weight, and without this hook the run keeps
    saving checkpoints and evaluating them. MMEngine's own
    ``CheckInvalidLossHook`` only asserts on the total (a bare
    ``AssertionError``, skipped under ``python -O``) and cannot skip steps.

    Args:
        action (str): ``'error'`` (default) raises :class:`NonFiniteLossError`
            after the first iteration with a non-finite loss term, naming
            the epoch, the iteration and the terms. ``'skip'`` skips every
            optimizer step whose gradients are not finite, as AMP's
            ``GradScaler`` does (under fp16 AMP the scaler itself skips
            them), counts the skipped steps and the non-finite losses, and
            logs them as a WARNING after each epoch; an epoch in which every
            step was skipped stops the run. The forward pass of a skipped
            step has already moved the BatchNorm running statistics, so
            they are restored to their values before the iteration, as they
            are after any iteration that leaves them non-finite: a skipped
            step leaves nothing behind.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, action: str = 'error') -> None:
        if action not in ACTIONS:
            raise ValueError(
                f'NonFiniteLossHook: action must be one of {ACTIONS}, got '
                f'{action!r}')
        self.action = action
        self._skipped = 0
        self._nonfinite = 0
        self._restored = 0
        self._iters = 0
        self._step_skipped = False
        self._stats: List[torch.Tensor] = []
        self._saved_stats: List[torch.Tensor] = []

    def before_train(self, runner) -> None:
        if self.action != 'skip':
            return
        model = runner.model
        while is_model_wrapper(model):
            model = model.module
        self._stats = [
            stat for module in model.modules()
            if isinstance(module, _BatchNorm)
            for stat in (module.running_mean, module.running_var,
                         module.num_batches_tracked) if stat is not None
        ]
        self._saved_stats = [stat.clone() for stat in self._stats]
        wrappers = runner.optim_wrapper
        wrappers = wrappers.values() if isinstance(
            wrappers, OptimWrapperDict) else [wrappers]
        for wrapper in wrappers:
            # A loss scaler already skips steps with inf/NaN gradients.
            if getattr(wrapper, 'loss_scaler', None) is None:
                wrapper.step = self._guard(wrapper)

    def before_train_epoch(self, runner) -> None:
        self._skipped = self._nonfinite = self._restored = self._iters = 0

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        self._step_skipped = False
        for saved, stat in zip(self._saved_stats, self._stats):
            saved.copy_(stat)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        self._iters += 1
        values = {
            name: float(torch.as_tensor(value).detach())
            for name, value in (outputs or {}).items() if 'loss' in name
        }
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if self.action == 'skip':
            self._restore_stats_if_needed(bool(bad))
        if not bad:
            return
        self._nonfinite += 1
        if self.action == 'error':
            terms = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise NonFiniteLossError(
                f'Non-finite loss at epoch {runner.epoch + 1}, iteration '
                f'{runner.iter + 1} ({terms}): training has diverged. '
                'Lower the learning rate (optim_wrapper.optimizer.lr), '
                'check the data, or set '
                "default_hooks.nonfinite_loss.action='skip' to skip such "
                'steps')

    def _restore_stats_if_needed(self, nonfinite_loss: bool) -> None:
        """Put back the BatchNorm statistics of before the iteration when
        its step was skipped, its loss was not finite, or they are not."""
        if not self._stats:
            return
        if not (self._step_skipped or nonfinite_loss):
            finite = torch.stack([
                torch.isfinite(stat).all() for stat in self._stats
                if stat.is_floating_point()
            ])
            if finite.all():  # one device sync for all statistics
                return
        for saved, stat in zip(self._saved_stats, self._stats):
            stat.copy_(saved)
        self._restored += 1

    def after_train_epoch(self, runner) -> None:
        if self.action != 'skip' or not (self._skipped or self._nonfinite
                                         or self._restored):
            return
        summary = (f'epoch {runner.epoch + 1}: {self._skipped} of '
                   f'{self._iters} optimizer steps skipped for non-finite '
                   f'gradients, {self._nonfinite} iterations with a '
                   'non-finite loss')
        if self._restored:
            summary += ('; BatchNorm running statistics restored in '
                        f'{self._restored} iterations')
        if max(self._skipped, self._nonfinite) >= self._iters:
            raise NonFiniteLossError(
                f'NonFiniteLossHook: {summary}; nothing was trained in this '
                'epoch, so the run stops. Lower the learning rate or check '
                'the data')
        runner.logger.warning(f'NonFiniteLossHook: {summary}')

    def _guard(self, wrapper):
        step = wrapper.step

        def step_if_finite(**kwargs):
            grads = [
                param.grad for group in wrapper.optimizer.param_groups
                for param in group['params'] if param.grad is not None
            ]
            if grads:
                finite = torch.stack([torch.isfinite(g).all() for g in grads])
                if not finite.all():  # one device sync for all parameters
                    self._skipped += 1
                    self._step_skipped = True
                    return
            step(**kwargs)

        return step_if_finite
