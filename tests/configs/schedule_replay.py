"""Replay of a config's learning-rate schedule as MMEngine's runner drives
it, without a model: the runner builds each scheduler (per iteration when
``convert_to_iter_based``), SHIKEStageSwitchHook sets ``stage2_lr_factor``
times the optimizer's lr before the switch epoch, ParamSchedulerHook steps
iteration-based schedulers after every iteration and epoch-based ones after
every epoch."""
import torch
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS


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
