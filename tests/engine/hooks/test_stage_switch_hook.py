"""SHIKEStageSwitchHook: one run trains both stages, resumes, and follows
the official LR schedule."""
import glob
import json
import os.path as osp

import pytest
import torch
from helpers import LearningRateRecorder, official_cifar_lr
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from shike_mm.apis.training_logs import find_scalars_json
from shike_mm.testing import bypass_cifar_md5
from shike_mm.utils import find_config, load_local_checkpoint

STAGE1_KEYS = {'loss_ce', 'loss_dkt', 'loss_mkd'}


def _state(work_dir, epoch):
    return load_local_checkpoint(osp.join(work_dir,
                                          f'epoch_{epoch}.pth'))['state_dict']


def _train_records(work_dir):
    with open(find_scalars_json(str(work_dir))) as f:
        return [record for record in map(json.loads, f) if 'loss' in record]


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
        for k in end if end[k].is_floating_point() and 'running' not in k
    }
    changed = _changed(end_of_stage1, end, lambda k: k in trained)
    assert changed and all(
        k.startswith('head.retrain_classifiers.') for k in changed)
    assert {k
            for k in end
            if k.startswith('head.retrain_classifiers.')} == changed
    assert not _changed(end_of_stage1, end,
                        lambda k: k.startswith('head.classifiers.'))
    # BN keeps train mode in stage 2: running statistics still move.
    running = _changed(end_of_stage1, end, lambda k: 'running_mean' in k)
    assert any(k.startswith('backbone.') for k in running)
    assert any(k.startswith('neck.') for k in running)
    assert int(end['head.stage']) == 2 and int(
        end_of_stage1['head.stage']) == 1

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
    assert stage2 and all(r['loss'] == pytest.approx(r['loss_bal'])
                          for r in stage2)


def test_resume_after_switch_matches_uninterrupted_run(
        tmp_path, short_shike_cifar_config, run_tool):
    straight = tmp_path / 'straight'
    run_tool(
        'train.py',
        short_shike_cifar_config(max_epochs=4, switch_epoch=2, augment=False),
        '--work-dir',
        straight,
        fake_cifar=True)

    interrupted = tmp_path / 'interrupted'
    run_tool(
        'train.py',
        short_shike_cifar_config(max_epochs=3, switch_epoch=2, augment=False),
        '--work-dir',
        interrupted,
        fake_cifar=True)
    proc = run_tool(
        'train.py',
        short_shike_cifar_config(max_epochs=4, switch_epoch=2, augment=False),
        '--work-dir',
        interrupted,
        '--resume',
        interrupted / 'epoch_3.pth',
        fake_cifar=True)
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
    for key in ('head.classifiers.0.weight', 'backbone.layer1.0.conv1.weight',
                'neck.aligners.0.0.bn.weight' if 'neck.aligners.0.0.bn.weight'
                in before else 'backbone.bn1.weight'):
        # Only weight decay acts: every entry shrinks by the same factor.
        ratio = after[key] / before[key]
        assert torch.all(ratio < 1.0), key
        torch.testing.assert_close(
            ratio, torch.full_like(ratio,
                                   ratio.flatten()[0].item()))


def test_real_schedule_matches_the_official_lr_every_epoch(
        tmp_path, fake_cifar, no_cifar_md5):
    cfg = Config.fromfile(find_config('shike/shike_r32_cifar100-lt-if100.py'))
    cfg.work_dir = str(tmp_path)
    # One batch per epoch, no evaluation, no checkpoints.
    # One image per class (every class must have one), one batch.
    cfg.train_dataloader.dataset.update(
        data_root=fake_cifar('cifar100', 1, 1),
        imb_factor=1,
        pipeline=[dict(type='PackInputs')])
    cfg.train_dataloader.update(batch_size=100, num_workers=0)
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
        assert lr == pytest.approx(official_cifar_lr(epoch), abs=1e-9), epoch


def _checkpoints(work_dir):
    return sorted(glob.glob(osp.join(str(work_dir), '*.pth')))


def test_real_config_with_too_few_epochs_fails_before_training(
        tmp_path, fake_cifar, run_tool):
    """The issue's case: the real IF100 config (switch at 180) run for 2
    epochs would train stage 1 only and exit 0."""
    data_root = fake_cifar('cifar100', 3, 1)
    work_dir = tmp_path / 'short'
    proc = run_tool(
        'train.py',
        'configs/shike/shike_r32_cifar100-lt-if100.py',
        '--work-dir',
        work_dir,
        '--cfg-options',
        'train_cfg.max_epochs=2',
        f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.imb_factor=2',
        f'val_dataloader.dataset.data_root={data_root}',
        fake_cifar=True,
        check=False)
    assert proc.returncode != 0
    assert ('SHIKEStageSwitchHook.switch_epoch=180 is not below '
            'train_cfg.max_epochs=2: stage 2 would never run') in proc.stderr
    assert not _checkpoints(work_dir)


@pytest.mark.parametrize('switch_epoch', [2.5, '2', True, -1])
def test_switch_epoch_must_be_an_integer(tiny_shike_cfg, run_in_process,
                                         switch_epoch):
    cfg = tiny_shike_cfg()
    cfg.custom_hooks[0].switch_epoch = switch_epoch
    with pytest.raises(ValueError) as error:
        run_in_process(cfg)
    assert (f'switch_epoch must be an integer >= 0, got {switch_epoch!r}'
            in str(error.value))


def test_switch_epoch_zero_needs_a_trained_network(tiny_shike_cfg,
                                                   run_in_process):
    cfg = tiny_shike_cfg(switch_epoch=0)
    with pytest.raises(ValueError) as error:
        run_in_process(cfg)
    assert ('switch_epoch=0 re-trains the classifiers of a network that was '
            'never trained: set load_from') in str(error.value)
    assert not _checkpoints(cfg.work_dir)


def test_iteration_based_loop_is_refused(tiny_shike_cfg, run_in_process):
    cfg = tiny_shike_cfg()
    cfg.train_cfg = dict(by_epoch=False, max_iters=4, val_interval=2)
    with pytest.raises(ValueError, match='train loop is iteration-based'):
        run_in_process(cfg)


def test_head_without_stage2_is_refused(tiny_shike_cfg, run_in_process):
    cfg = tiny_shike_cfg()
    cfg.model.head.bal_loss = None
    with pytest.raises(ValueError, match='model.head.bal_loss is None'):
        run_in_process(cfg)


def test_a_single_stage_head_trains_without_the_hook_quietly(
        tiny_shike_cfg, run_in_process, read_log):
    cfg = tiny_shike_cfg(max_epochs=1)
    cfg.custom_hooks = []
    cfg.model.head.bal_loss = None
    runner = run_in_process(cfg)
    assert not hasattr(runner.model.head, 'retrain_classifiers')
    assert 'without SHIKEStageSwitchHook' not in read_log(cfg.work_dir)


class StopAfterFirstEpoch(Hook):
    """Ends training after one epoch, as an early-stopping hook would."""

    def after_train_epoch(self, runner):
        runner.train_loop.stop_training = True


def test_a_run_that_ends_in_stage1_says_so(tiny_shike_cfg, read_log):
    cfg = tiny_shike_cfg(max_epochs=3, switch_epoch=2)
    with bypass_cifar_md5():
        runner = Runner.from_cfg(cfg)
        runner.register_hook(StopAfterFirstEpoch())
        runner.train()
    assert ('WARNING - SHIKE training ended in stage 1 at epoch 1, before '
            'switch_epoch=2') in read_log(cfg.work_dir)


def test_resumed_and_loaded_checkpoints_must_agree_with_the_stage(
        tiny_shike_cfg, run_in_process):
    # Epoch 1 (index 0) in stage 1, epochs 2 and 3 in stage 2.
    first = tiny_shike_cfg(max_epochs=3, switch_epoch=1)
    run_in_process(first)
    stage1 = osp.join(first.work_dir, 'epoch_1.pth')
    stage2 = osp.join(first.work_dir, 'epoch_2.pth')
    assert int(load_local_checkpoint(stage1)['state_dict']['head.stage']) == 1
    assert int(load_local_checkpoint(stage2)['state_dict']['head.stage']) == 2

    def resume(path, switch_epoch, max_epochs=3, resume=True):
        cfg = tiny_shike_cfg(
            max_epochs=max_epochs,
            switch_epoch=switch_epoch,
            work_dir=f'resume_{switch_epoch}_{osp.basename(path)}')
        cfg.resume, cfg.load_from = resume, path
        return cfg

    # A stage-2 checkpoint with a later switch would unfreeze the network.
    with pytest.raises(ValueError) as error:
        run_in_process(resume(stage2, switch_epoch=2))
    assert ('The resumed checkpoint (epoch 2) is in stage 2 (its run used '
            'switch_epoch=1), but switch_epoch=2 would train epoch 3 in '
            'stage 1') in str(error.value)
    # A stage-1 checkpoint with an earlier switch would skip the reset.
    with pytest.raises(ValueError) as error:
        run_in_process(resume(stage1, switch_epoch=0))
    assert ('The resumed checkpoint (epoch 1) is in stage 1 (its run used '
            'switch_epoch=1), but switch_epoch=0 is past: stage 2 would '
            'start without its optimizer reset') in str(error.value)
    # A stage-2 checkpoint as load_from of a run that starts in stage 1.
    with pytest.raises(ValueError) as error:
        run_in_process(resume(stage2, switch_epoch=1, resume=False))
    assert 'is a stage-2 checkpoint' in str(error.value)

    # The consistent resume trains exactly the stage-2 set.
    runner = run_in_process(resume(stage2, switch_epoch=1))
    model = runner.model
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {
        n
        for n, _ in model.named_parameters()
        if n.startswith('head.retrain_classifiers.')
    }
    before = load_local_checkpoint(stage2)['state_dict']
    after = _state(runner.work_dir, 3)
    changed = _changed(
        before, after,
        lambda k: 'running' not in k and after[k].is_floating_point())
    assert changed and all(
        k.startswith('head.retrain_classifiers.') for k in changed)

    # Re-training the classifiers of a stage-1 checkpoint: switch_epoch=0.
    runner = run_in_process(
        resume(stage1, switch_epoch=0, max_epochs=1, resume=False))
    assert runner.model.head.current_stage == 2
    after = _state(runner.work_dir, 1)
    before = load_local_checkpoint(stage1)['state_dict']
    changed = _changed(
        before, after,
        lambda k: 'running' not in k and after[k].is_floating_point())
    assert changed and all(
        k.startswith('head.retrain_classifiers.') for k in changed)


def _train_recording_lr(cfg):
    recorder = LearningRateRecorder()
    with bypass_cifar_md5():
        runner = Runner.from_cfg(cfg)
        runner.register_hook(recorder)
        runner.train()
    return recorder


def test_stage2_lr_is_a_factor_of_each_groups_configured_lr(tiny_shike_cfg):
    """The constant LR of the tiny config (no schedulers) restarts at
    stage2_lr_factor x lr in stage 2; a group with lr_mult keeps it."""
    cfg = tiny_shike_cfg(max_epochs=3, switch_epoch=2)
    cfg.custom_hooks[0].stage2_lr_factor = 0.2
    cfg.optim_wrapper.paramwise_cfg = dict(
        custom_keys={'head.retrain_classifiers': dict(lr_mult=3.0)})
    recorder = _train_recording_lr(cfg)
    assert recorder.lrs == pytest.approx([0.15, 0.15, 0.2 * 0.15])
    first, last = recorder.group_lrs[0], recorder.group_lrs[-1]
    assert sorted(set(first)) == pytest.approx([0.15, 0.45])
    assert last == pytest.approx([0.2 * lr for lr in first])


def test_auto_scale_lr_scales_both_stages(tiny_shike_cfg):
    """Batch 100 on a config set for 200: half the LR in both stages."""
    cfg = tiny_shike_cfg(max_epochs=3, switch_epoch=2)
    cfg.auto_scale_lr = dict(base_batch_size=200, enable=True)
    recorder = _train_recording_lr(cfg)
    stage2_lr = cfg.custom_hooks[0].stage2_lr_factor * 0.075
    assert recorder.lrs == pytest.approx([0.075, 0.075, stage2_lr])


def test_the_absolute_stage2_lr_is_refused_naming_its_replacement(
        tiny_shike_cfg, run_in_process):
    cfg = tiny_shike_cfg()
    cfg.custom_hooks[0] = dict(
        type='SHIKEStageSwitchHook', switch_epoch=2, stage2_lr=0.0375)
    with pytest.raises(ValueError) as error:
        run_in_process(cfg)
    assert ('SHIKEStageSwitchHook: stage2_lr=0.0375 is no longer an option: '
            'the stage-2 LR is stage2_lr_factor, a factor of '
            'optim_wrapper.optimizer.lr, so that --auto-scale-lr scales it '
            'too. Replace stage2_lr with stage2_lr_factor = stage2_lr / '
            'optim_wrapper.optimizer.lr (e.g. 0.0375 / 0.15 = 0.25)') in str(
                error.value)
