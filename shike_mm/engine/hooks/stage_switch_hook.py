"""Switch SHIKE from representation learning to classifier re-training."""
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmpretrain.registry import HOOKS
from shike_mm.datasets import get_train_class_counts


@HOOKS.register_module()
class SHIKEStageSwitchHook(Hook):
    """Run SHIKE's decoupled second stage inside one training run.

    Before training it hands the training set's per-class counts to the
    head (for Balanced Softmax). At ``switch_epoch`` (0-based, the first
    stage-2 epoch) it:

    - switches the head to stage 2: the fresh ``retrain_classifiers`` and
      Balanced Softmax replace the stage-1 classifiers and losses;
    - freezes every parameter but the stage-2 classifiers
      (``requires_grad=False``); BN layers stay in train mode, so their
      running statistics keep updating, as in the official code;
    - starts a fresh optimizer state (new momentum) and sets the learning
      rate to ``stage2_lr``, from which the stage-2 schedulers in
      ``param_scheduler`` continue; the logged loss terms change from
      ``loss_ce``/``loss_dkt``/``loss_mkd`` to ``loss_bal``, and the
      smoothed ``loss`` restarts.

    A run resumed after the switch comes back in stage 2 (the stage is part
    of the head's state) with the same frozen set; its optimizer state and
    learning rate come from the checkpoint.

    Args:
        switch_epoch (int): First epoch of stage 2 (180 of 200 on CIFAR).
        stage2_lr (float): Learning rate of the first stage-2 epoch, for the
            first param group; other groups keep their ratio to it.
        decay_frozen (bool): Keep applying weight decay (and momentum) to
            the frozen parameters in stage 2 by giving them zero gradients
            before each step. This reproduces the official code under the
            torch 1.11 it pins, whose ``zero_grad`` kept zero tensors so SGD
            went on decaying the "frozen" network. Defaults to False: the
            code means to freeze (``requires_grad=False``), the paper
            describes a frozen network, the official code itself freezes
            exactly on torch >= 2.0, and the decay effect is inferred from
            PyTorch semantics rather than measured. Set True to ablate it.
    """

    priority = 'NORMAL'

    def __init__(self,
                 switch_epoch: int,
                 stage2_lr: float,
                 decay_frozen: bool = False) -> None:
        if switch_epoch < 0:
            raise ValueError(
                f'switch_epoch must be >= 0, got {switch_epoch}')
        if stage2_lr <= 0:
            raise ValueError(f'stage2_lr must be > 0, got {stage2_lr}')
        self.switch_epoch = switch_epoch
        self.stage2_lr = stage2_lr
        self.decay_frozen = decay_frozen
        self._frozen: Optional[List[torch.nn.Parameter]] = None

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        model.head.set_class_counts(
            get_train_class_counts(runner.train_dataloader.dataset))
        if runner.epoch > self.switch_epoch:
            # Resumed after the switch: the optimizer state and LR come
            # from the checkpoint, only the frozen set must be rebuilt.
            self._enter_stage2(model)

    def before_train_epoch(self, runner) -> None:
        if runner.epoch != self.switch_epoch:
            return
        self._enter_stage2(self._model(runner))
        optimizer = runner.optim_wrapper.optimizer
        optimizer.state.clear()
        # `initial_lr` is the configured LR, recorded by the schedulers.
        base_lrs = [
            group.get('initial_lr', group['lr'])
            for group in optimizer.param_groups
        ]
        for group, base_lr in zip(optimizer.param_groups, base_lrs):
            group['lr'] = self.stage2_lr * base_lr / base_lrs[0]
        # Stage-1 loss terms stop and the total changes meaning; keep the
        # smoothed log values from mixing in stage-1 history.
        scalars = runner.message_hub.log_scalars
        for key in [k for k in scalars if k.startswith('train/loss')]:
            del scalars[key]
        runner.logger.info(
            f'SHIKE stage 2 from epoch {runner.epoch}: trainable parameters '
            'are the re-trained classifiers only; optimizer state reset, '
            f'lr={self.stage2_lr}')

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if not self.decay_frozen or not self._frozen:
            return
        for param in self._frozen:
            if param.grad is None:
                param.grad = torch.zeros_like(param)

    def _enter_stage2(self, model) -> None:
        model.head.set_stage(2)
        trainable = {
            id(p)
            for p in model.head.retrain_classifiers.parameters()
        }
        self._frozen = []
        for param in model.parameters():
            keep = id(param) in trainable
            param.requires_grad_(keep)
            if not keep:
                self._frozen.append(param)
