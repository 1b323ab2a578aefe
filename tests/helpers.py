"""What several test files share: the checkout's root, the real
CIFAR-100-LT IF100 config shrunk onto fake CIFAR, and the official CIFAR
learning-rate schedule with a hook that records the rates a run uses,
a replay of a config's schedule without a run, and the random float64
weights the PEFT tests compare models with.

Importable as ``helpers`` from every test file (pytest puts ``tests/``,
the folder of the root ``conftest.py``, on ``sys.path``).

The schedule replay (:func:`replay_lr`) drives a config's learning-rate
schedule as MMEngine's runner does, without a model: the runner builds each
scheduler (per iteration when ``convert_to_iter_based``),
SHIKEStageSwitchHook sets ``stage2_lr_factor`` times the optimizer's lr
before the switch epoch, ParamSchedulerHook steps iteration-based
schedulers after every iteration and epoch-based ones after every epoch."""
import math
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import PARAM_SCHEDULERS

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHIKE_CIFAR_CONFIG = osp.join(REPO_ROOT, 'configs', 'shike',
                              'shike_r32_cifar100-lt-if100.py')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def if100_on_fake_cifar(data_root: str,
                        imb_factor: float,
                        max_epochs: int = 4,
                        switch_epoch: int = 2) -> Config:
    """The real CIFAR-100-LT IF100 config on fake CIFAR at ``data_root``
    for a short run: ``max_epochs`` with the stage switch at
    ``switch_epoch``, no LR schedule (the schedules are tested on their
    own; the LR stays constant apart from the hook's reset at the switch),
    loaders without worker processes, a log line every iteration and a
    checkpoint every epoch, all kept."""
    cfg = Config.fromfile(SHIKE_CIFAR_CONFIG)
    for loader in LOADERS:
        cfg[loader].dataset.update(data_root=data_root, imb_factor=imb_factor)
        cfg[loader].update(num_workers=0, persistent_workers=False)
    cfg.train_cfg.max_epochs = max_epochs
    cfg.custom_hooks[0].switch_epoch = switch_epoch
    cfg.param_scheduler = None
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=-1)
    return cfg


class LearningRateRecorder(Hook):
    """Records the learning rate each epoch trains with: of the first
    param group (``lrs``) and of every group (``group_lrs``)."""

    priority = 'LOWEST'

    def __init__(self):
        self.lrs = []
        self.group_lrs = []

    def before_train_epoch(self, runner):
        self.group_lrs.append(runner.optim_wrapper.get_lr()['lr'])
        self.lrs.append(self.group_lrs[-1][0])


def official_cifar_lr(epoch: int) -> float:
    """The official CIFAR schedule, spec section 4."""
    if epoch < 5:
        return 0.025 * (epoch + 1)
    if epoch < 180:
        return 0.075 * (1 + math.cos(math.pi * (epoch - 5) / 175))
    k = epoch - 180
    if k < 5:
        return 0.0375 + 0.0125 * k
    return 0.05 * (1 + math.cos(math.pi * (k - 5) / 15))


def replay_lr(schedule_cfg: Config, epoch_length: int):
    """Learning rate of every iteration, as ``lrs[epoch][iteration]``."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param],
                                lr=schedule_cfg.optim_wrapper.optimizer.lr)
    schedulers = []
    for cfg in schedule_cfg.param_scheduler:
        cfg = dict(cfg)
        scheduler_type = PARAM_SCHEDULERS.get(cfg.pop('type'))
        if cfg.pop('convert_to_iter_based', False):
            schedulers.append(
                scheduler_type.build_iter_from_epoch(
                    optimizer, epoch_length=epoch_length, **cfg))
        else:
            schedulers.append(scheduler_type(optimizer, **cfg))
    (switch_hook, ) = schedule_cfg.custom_hooks
    lrs = []
    for epoch in range(schedule_cfg.train_cfg.max_epochs):
        if epoch == switch_hook.switch_epoch:
            group = optimizer.param_groups[0]
            group['lr'] = switch_hook.stage2_lr_factor * group['initial_lr']
        epoch_lrs = []
        for _ in range(epoch_length):
            epoch_lrs.append(optimizer.param_groups[0]['lr'])
            optimizer.step()  # no gradient: only keeps the usual order
            for scheduler in schedulers:
                if not scheduler.by_epoch:
                    scheduler.step()
        for scheduler in schedulers:
            if scheduler.by_epoch:
                scheduler.step()
        lrs.append(epoch_lrs)
    return lrs


def randomise(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """The model in float64 with random weights everywhere, nonzero adapters
    and gates included: norm weights and scales ``1 + 0.2 N(0, 1)``, the
    rest ``0.3 N(0, 1)``, drawn in parameter order from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    model.double()
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(
                param.shape, generator=generator, dtype=param.dtype)
            is_norm_weight = name.endswith(
                ('ln.weight', 'ln1.weight', 'ln2.weight', 'norm.weight'))
            if is_norm_weight or name.endswith('scale'):
                param.copy_(1 + 0.2 * noise)
            else:
                param.copy_(0.3 * noise)
    return model
