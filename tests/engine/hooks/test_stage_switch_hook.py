"""SHIKEStageSwitchHook: one run trains both stages, resumes, and follows
the official LR schedule."""
import json
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from shike_mm.utils import find_config, load_local_checkpoint
from shike_mm.utils.analysis import find_scalars_json

STAGE1_KEYS = {'loss_ce', 'loss_dkt', 'loss_mkd'}


def _state(work_dir, epoch):
    return load_local_checkpoint(osp.join(work_dir,
                                          f'epoch_{epoch}.pth'))['state_dict']


def _train_records(work_dir):
    with open(find_scalars_json(str(work_dir))) as f:
        return [
            record for record in map(json.loads, f) if 'loss' in record
        ]


def _train_losses_by_epoch(work_dir):
    keys_by_epoch = {}
    for record in _train_records(work_dir):
        keys_by_epoch.setdefault(record['epoch'], set()).update(
            k for k in record if k.startswith('loss_'))
    return keys_by_epoch


def _changed(before, after, predicate):
    return {
        key
        for key in before
        if predicate(key) and not torch.equal(before[key], after[key])
    }


def test_real_config_switches_to_stage2(tmp_path, short_shike_cifar_config,
                                        run_tool):
    config = short_shike_cifar_config(max_epochs=4, switch_epoch=2)
    work_dir = tmp_path / 'run'
    run_tool('train.py', config, '--work-dir', work_dir, fake_cifar=True)

    end_of_stage1, end = _state(work_dir, 2), _state(work_dir, 4)
    trained = {
        k
        for k in end
        if end[k].is_floating_point() and 'running' not in k
    }
    changed = _changed(end_of_stage1, end, lambda k: k in trained)
    assert changed and all(
        k.startswith('head.retrain_classifiers.') for k in changed)
    assert {k for k in end if k.startswith('head.retrain_classifiers.')
            } == changed
    assert not _changed(end_of_stage1, end,
                        lambda k: k.startswith('head.classifiers.'))
    # BN keeps train mode in stage 2: running statistics still move.
    running = _changed(end_of_stage1, end, lambda k: 'running_mean' in k)
    assert any(k.startswith('backbone.') for k in running)
    assert any(k.startswith('neck.') for k in running)
    assert int(end['head.stage']) == 2 and int(end_of_stage1['head.stage']) == 1

    # Stage 1 trained the stage-1 classifiers and not the stage-2 ones.
    start = _state(work_dir, 1)
    assert _changed(start, end_of_stage1,
                    lambda k: k.startswith('head.classifiers.'))
    assert not _changed(start, end_of_stage1,
                        lambda k: k.startswith('head.retrain_classifiers.'))

    losses = _train_losses_by_epoch(work_dir)
    assert losses[1] == STAGE1_KEYS and losses[2] == STAGE1_KEYS
    assert losses[3] == {'loss_bal'} and losses[4] == {'loss_bal'}
    # The smoothed total restarts at the switch: in stage 2 it is loss_bal.
    stage2 = [r for r in _train_records(work_dir) if r['epoch'] > 2]
    assert stage2 and all(
        r['loss'] == pytest.approx(r['loss_bal']) for r in stage2)


def test_resume_after_switch_matches_uninterrupted_run(
        tmp_path, short_shike_cifar_config, run_tool):
    straight = tmp_path / 'straight'
    run_tool('train.py',
             short_shike_cifar_config(max_epochs=4, switch_epoch=2,
                                      augment=False), '--work-dir', straight,
             fake_cifar=True)

    interrupted = tmp_path / 'interrupted'
    run_tool('train.py',
             short_shike_cifar_config(max_epochs=3, switch_epoch=2,
                                      augment=False), '--work-dir',
             interrupted, fake_cifar=True)
    proc = run_tool(
        'train.py',
        short_shike_cifar_config(max_epochs=4, switch_epoch=2,
                                 augment=False), '--work-dir', interrupted,
        '--resume', interrupted / 'epoch_3.pth', fake_cifar=True)
    assert 'resumed epoch: 3' in proc.stdout + proc.stderr

    expected, resumed = _state(straight, 4), _state(interrupted, 4)
    assert expected.keys() == resumed.keys()
    for key in expected:
        torch.testing.assert_close(resumed[key], expected[key], msg=key)


def test_decay_frozen_reproduces_torch_1_11_weight_decay(
        tmp_path, short_shike_cifar_config, run_tool):
    config = short_shike_cifar_config(
        max_epochs=3, switch_epoch=2, augment=False)
    cfg = Config.fromfile(config)
    cfg.custom_hooks[0].decay_frozen = True
    cfg.dump(config)
    work_dir = tmp_path / 'decay'
    run_tool('train.py', config, '--work-dir', work_dir, fake_cifar=True)

    before, after = _state(work_dir, 2), _state(work_dir, 3)
    for key in ('head.classifiers.0.weight',
                'backbone.layer1.0.conv1.weight', 'neck.aligners.0.0.bn.weight'
                if 'neck.aligners.0.0.bn.weight' in before else
                'backbone.bn1.weight'):
        # Only weight decay acts: every entry shrinks by the same factor.
        ratio = after[key] / before[key]
        assert torch.all(ratio < 1.0), key
        torch.testing.assert_close(
            ratio, torch.full_like(ratio, ratio.flatten()[0].item()))


class LearningRateRecorder(Hook):
    """Records the learning rate each epoch trains with."""

    priority = 'LOWEST'

    def __init__(self):
        self.lrs = []

    def before_train_epoch(self, runner):
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])


def official_lr(epoch):
    """The official CIFAR schedule, spec section 4."""
    if epoch < 5:
        return 0.025 * (epoch + 1)
    if epoch < 180:
        return 0.075 * (1 + math.cos(math.pi * (epoch - 5) / 175))
    k = epoch - 180
    if k < 5:
        return 0.0375 + 0.0125 * k
    return 0.05 * (1 + math.cos(math.pi * (k - 5) / 15))


def test_real_schedule_matches_the_official_lr_every_epoch(
        tmp_path, fake_cifar, no_cifar_md5):
    cfg = Config.fromfile(find_config('shike/shike_r32_cifar100-lt-if100.py'))
    cfg.work_dir = str(tmp_path)
    # One batch per epoch, no evaluation, no checkpoints.
    cfg.train_dataloader.dataset.update(
        data_root=fake_cifar('cifar100', 6, 1),
        imb_factor=2,
        indices=2,
        pipeline=[dict(type='PackInputs')])
    cfg.train_dataloader.update(batch_size=2, num_workers=0)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1000, save_last=False)
    cfg.default_hooks.logger.interval = 1000
    cfg.optim_wrapper = dict(
        type='OptimWrapper', optimizer=cfg.optim_wrapper.optimizer)
    runner = Runner.from_cfg(cfg)

    def step_without_compute(data, optim_wrapper):
        optim_wrapper.step()  # the schedule needs no forward pass
        return {}

    runner.model.train_step = step_without_compute
    recorder = LearningRateRecorder()
    runner.register_hook(recorder)
    runner.train()

    assert len(recorder.lrs) == 200
    for epoch, lr in enumerate(recorder.lrs):
        assert lr == pytest.approx(official_lr(epoch), abs=1e-9), epoch
