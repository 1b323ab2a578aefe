"""Switch SHIKE from representation learning to classifier re-training."""
import logging
from numbers import Integral, Real
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop
from mmpretrain.registry import HOOKS

#: Checkpoint ``meta`` key of the switch epoch the run was trained with.
SWITCH_META_KEY = 'shike_switch_epoch'


@HOOKS.register_module()
class SHIKEStageSwitchHook(Hook):
    """Run SHIKE's decoupled second stage inside one training run.

    At ``switch_epoch`` (0-based, the first stage-2 epoch) it:

    - switches the head to stage 2: the fresh re-training classifiers and
      Balanced Softmax replace the stage-1 classifiers and losses (the
      training class counts reach the head through
      :class:`ClassCountsHook`);
    - freezes every parameter but the ones the head trains in stage 2
      (``head.stage2_parameters()``, ``requires_grad=False`` for the rest);
      BN layers stay in train mode, so their running statistics keep
      updating, as in the official code;
    - starts a fresh optimizer state (new momentum) and sets each param
      group's learning rate to ``stage2_lr_factor`` times its configured
      one (``initial_lr``, after ``auto_scale_lr``), from which the stage-2
      schedulers in ``param_scheduler`` continue; the logged loss terms
      change from
      ``loss_ce``/``loss_dkt``/``loss_mkd`` to ``loss_bal``, and the
      smoothed ``loss`` restarts.

    Before training it refuses settings that would skip stage 2 or train it
    on nothing: a ``switch_epoch`` that is not an integer, not below
    ``train_cfg.max_epochs``, or 0 without a ``load_from`` checkpoint to
    re-train; an iteration-based loop; a head without a stage 2. A loaded
    checkpoint must agree with the epoch: a resumed run comes back in the
    stage its checkpoint was saved in, with exactly the stage-2 frozen set
    when that is stage 2, or stops with a message that says how to
    proceed. A run that still ends in stage 1 says so as a WARNING.

    Args:
        switch_epoch (int): First epoch of stage 2 (180 of 200 on CIFAR).
        stage2_lr_factor (float): Learning rate of the first stage-2 epoch
            as a factor of the optimizer's configured LR (0.25 on CIFAR:
            0.0375 = 0.25 x 0.15), so that scaling the LR, by hand or with
            ``--auto-scale-lr``, scales both stages. Every param group
            gets this factor times its own LR.
        decay_frozen (bool): Keep applying weight decay (and momentum) to
            the frozen parameters in stage 2 by giving them zero gradients
            before each step. This reproduces the official code under the
            torch 1.11 it pins, whose ``zero_grad`` kept zero tensors so SGD
            went on decaying the "frozen" network. Defaults to False: the
            code means to freeze (``requires_grad=False``), the paper
            describes a frozen network, the official code itself freezes
            exactly on torch >= 2.0, and the decay effect is inferred from
            PyTorch semantics rather than measured. Set True to ablate it.
        stage2_lr (float, optional): Removed: the absolute stage-2 LR of
            earlier versions, which ``--auto-scale-lr`` left unscaled.
            Giving it is an error that names ``stage2_lr_factor``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 switch_epoch: int,
                 stage2_lr_factor: Optional[float] = None,
                 decay_frozen: bool = False,
                 stage2_lr: Optional[float] = None) -> None:
        if stage2_lr is not None:
            raise ValueError(
                f'SHIKEStageSwitchHook: stage2_lr={stage2_lr!r} is no longer '
                'an option: the stage-2 LR is stage2_lr_factor, a factor of '
                'optim_wrapper.optimizer.lr, so that --auto-scale-lr scales '
                'it too. Replace stage2_lr with stage2_lr_factor = stage2_lr '
                '/ optim_wrapper.optimizer.lr (e.g. 0.0375 / 0.15 = 0.25)')
        if (isinstance(switch_epoch, bool)
                or not isinstance(switch_epoch, Integral) or switch_epoch < 0):
            raise ValueError('SHIKEStageSwitchHook: switch_epoch must be an '
                             f'integer >= 0, got {switch_epoch!r}')
        if (isinstance(stage2_lr_factor, bool)
                or not isinstance(stage2_lr_factor, Real)
                or not stage2_lr_factor > 0):
            raise ValueError('SHIKEStageSwitchHook: stage2_lr_factor must be '
                             f'a number > 0, got {stage2_lr_factor!r}')
        self.switch_epoch = int(switch_epoch)
        self.stage2_lr_factor = stage2_lr_factor
        self.decay_frozen = decay_frozen
        self._frozen: Optional[List[torch.nn.Parameter]] = None
        self._loaded: Optional[dict] = None

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        self._loaded = dict(
            switch_epoch=meta.get(SWITCH_META_KEY), epoch=meta.get('epoch'))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[SWITCH_META_KEY] = self.switch_epoch

    def before_train(self, runner) -> None:
        self._check_schedule(runner)
        head = self._model(runner).head
        epoch = runner.epoch
        if runner.iter > 0:
            self._check_resumed_stage(head, epoch)
        elif head.current_stage == 2 and self.switch_epoch > 0:
            raise ValueError(
                f'load_from={runner.cfg.get("load_from")!r} is a stage-2 '
                'checkpoint (it predicts with its re-trained classifiers), '
                f'but switch_epoch={self.switch_epoch} would train stage 1 '
                'first. To re-train its classifiers set switch_epoch=0; to '
                'continue its run, resume it instead')
        if epoch > self.switch_epoch:
            # The optimizer state and LR come from the checkpoint; only the
            # frozen set must be rebuilt.
            self._enter_stage2(self._model(runner))

    def _check_schedule(self, runner) -> None:
        if isinstance(runner.train_loop, IterBasedTrainLoop):
            raise ValueError(
                'SHIKEStageSwitchHook switches stages by epoch, but the '
                'train loop is iteration-based; use train_cfg='
                'dict(by_epoch=True, max_epochs=...)')
        max_epochs = runner.train_loop.max_epochs
        if self.switch_epoch >= max_epochs:
            raise ValueError(
                f'SHIKEStageSwitchHook.switch_epoch={self.switch_epoch} is '
                f'not below train_cfg.max_epochs={max_epochs}: stage 2 '
                'would never run. Lower switch_epoch with max_epochs (e.g. '
                '--cfg-options train_cfg.max_epochs=N '
                'custom_hooks.0.switch_epoch=M with M < N), or remove the '
                'hook for a stage-1-only run')
        if self.switch_epoch == 0 and not runner.cfg.get('load_from'):
            raise ValueError(
                'SHIKEStageSwitchHook.switch_epoch=0 re-trains the '
                'classifiers of a network that was never trained: set '
                'load_from to a stage-1 checkpoint, or a switch_epoch > 0')
        if not self._model(runner).head.has_stage2:
            raise ValueError(
                'SHIKEStageSwitchHook needs a head with a stage 2, but '
                'model.head.bal_loss is None; set bal_loss or remove the '
                'hook')

    def _check_resumed_stage(self, head, epoch: int) -> None:
        """A resumed checkpoint saved after ``epoch`` epochs trained its
        last epoch in stage 2 exactly when ``epoch > switch_epoch``."""
        saved_with = (self._loaded or {}).get('switch_epoch')
        trained_with = ('' if saved_with is None else
                        f' (its run used switch_epoch={saved_with})')
        if head.current_stage == 2 and epoch <= self.switch_epoch:
            raise ValueError(
                f'The resumed checkpoint (epoch {epoch}) is in stage 2'
                f'{trained_with}, but switch_epoch={self.switch_epoch} '
                f'would train epoch {epoch + 1} in stage 1 with an unfrozen '
                'network. Resume with the switch_epoch of that run, or '
                f'start a new run with load_from and switch_epoch=0')
        if head.current_stage == 1 and epoch > self.switch_epoch:
            raise ValueError(
                f'The resumed checkpoint (epoch {epoch}) is in stage 1'
                f'{trained_with}, but switch_epoch={self.switch_epoch} is '
                'past: stage 2 would start without its optimizer reset and '
                f'stage-2 LR. Resume with switch_epoch >= {epoch}, or start a '
                'new run with load_from and switch_epoch=0 to re-train its '
                'classifiers')

    def before_train_epoch(self, runner) -> None:
        if runner.epoch != self.switch_epoch:
            return
        self._enter_stage2(self._model(runner))
        optimizer = runner.optim_wrapper.optimizer
        optimizer.state.clear()
        # `initial_lr` is the configured LR (after auto_scale_lr), recorded
        # by the schedulers; without schedulers the LR never moved.
        for group in optimizer.param_groups:
            group['lr'] = self.stage2_lr_factor * group.get(
                'initial_lr', group['lr'])
        # Stage-1 loss terms stop and the total changes meaning; keep the
        # smoothed log values from mixing in stage-1 history. MessageHub
        # has no public removal; its resumed-key record must go too, or a
        # resumed stage-2 checkpoint warns about the stage-1 keys.
        hub = runner.message_hub
        for key in [k for k in hub.log_scalars if k.startswith('train/loss')]:
            del hub.log_scalars[key]
            hub._resumed_keys.pop(key, None)
        runner.logger.info(
            f'SHIKE stage 2 from epoch {runner.epoch}: trainable parameters '
            'are the re-trained classifiers only; optimizer state reset, '
            f'lr={optimizer.param_groups[0]["lr"]:.6g} (stage2_lr_factor='
            f'{self.stage2_lr_factor} x the configured lr)')

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        if not self.decay_frozen or not self._frozen:
            return
        for param in self._frozen:
            if param.grad is None:
                param.grad = torch.zeros_like(param)

    def after_train(self, runner) -> None:
        if self._model(runner).head.current_stage == 1:
            print_log(
                f'SHIKE training ended in stage 1 at epoch {runner.epoch}, '
                f'before switch_epoch={self.switch_epoch}: the classifiers '
                'were never re-trained, so this is not a two-stage SHIKE '
                'model',
                logger='current',
                level=logging.WARNING)

    def _enter_stage2(self, model) -> None:
        model.head.set_stage(2)
        trainable = {id(p) for p in model.head.stage2_parameters()}
        self._frozen = []
        for param in model.parameters():
            keep = id(param) in trainable
            param.requires_grad_(keep)
            if not keep:
                self._frozen.append(param)
