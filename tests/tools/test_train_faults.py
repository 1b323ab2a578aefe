"""tools/train.py loses no checkpoint to a kill, a SIGTERM or a full disk
during a save, and an auto-resume finds the newest whole checkpoint; each
resumed run ends with the weights of an uninterrupted one, bit for bit."""
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys

import pytest
import torch

from shike_mm.utils import load_local_checkpoint

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE_CONFIG = osp.join(REPO_ROOT, 'configs', 'smoke',
                        'tiny-resnet_fake-images.py')
# The shipped recipes keep one checkpoint.
KEEP_ONE = 'default_hooks.checkpoint.max_keep_ckpts=1'


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _env():
    return {k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'}


def _train(data_root, work_dir, *args, fault=None, check=True, gpus=1):
    """``tools/train.py`` on the smoke config (3 epochs, one checkpoint
    kept; a later ``--cfg-options`` in ``args`` overrides), optionally under
    :mod:`shike_mm.testing.checkpoint_faults` (``fault=(kind, name)``), in
    ``gpus`` CPU processes (gloo) if more than one."""
    cmd = [sys.executable]
    if gpus > 1:
        cmd += [
            '-m', 'torch.distributed.run', '--nnodes=1',
            f'--nproc_per_node={gpus}', '--master_addr=127.0.0.1',
            f'--master_port={_free_port()}'
        ]
        args = ('--launcher', 'pytorch') + args
    if fault:
        cmd += ['-m', 'shike_mm.testing.checkpoint_faults', *fault]
    cmd += [
        osp.join(REPO_ROOT, 'tools', 'train.py'), SMOKE_CONFIG, '--work-dir',
        str(work_dir), '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}', KEEP_ONE, *args
    ]
    # Not the checkout: MMEngine's collect_results_cpu makes '.dist_test' in
    # the working folder of a distributed evaluation.
    proc = subprocess.run(
        cmd,
        cwd=osp.dirname(str(work_dir)),
        env=_env(),
        capture_output=True,
        text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}')
    proc.log = proc.stdout + proc.stderr
    return proc


def _checkpoints(work_dir):
    return sorted(
        f for f in os.listdir(work_dir)
        if f.endswith(('.pth', '.partial')) or f == 'disk_filler')


def _assert_bit_identical(work_dir, reference_dir, epoch=3):
    name = f'epoch_{epoch}.pth'
    resumed = load_local_checkpoint(osp.join(work_dir, name))
    reference = load_local_checkpoint(osp.join(reference_dir, name))
    assert resumed['meta']['epoch'] == epoch
    assert resumed['state_dict'].keys() == reference['state_dict'].keys()
    for key, value in reference['state_dict'].items():
        assert torch.equal(resumed['state_dict'][key], value), key
    for key, state in reference['optimizer']['state'].items():
        assert torch.equal(
            resumed['optimizer']['state'][key]['momentum_buffer'],
            state['momentum_buffer'])


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory, tiny_image_folder):
    """Three epochs in one go, started with ``--resume`` in an empty work
    dir; the work dir and the run."""
    work_dir = tmp_path_factory.mktemp('uninterrupted')
    proc = _train(tiny_image_folder, work_dir, '--resume')
    return work_dir, proc


@pytest.fixture(scope='module')
def two_epochs(tmp_path_factory, tiny_image_folder):
    """A run stopped after two of three epochs, every checkpoint kept."""
    work_dir = tmp_path_factory.mktemp('two_epochs')
    _train(tiny_image_folder, work_dir, '--cfg-options',
           'train_cfg.max_epochs=2',
           'default_hooks.checkpoint.max_keep_ckpts=-1')
    assert _checkpoints(work_dir) == ['epoch_1.pth', 'epoch_2.pth']
    return work_dir


def test_resume_in_an_empty_work_dir_starts_from_scratch_in_one_line(
        uninterrupted):
    work_dir, proc = uninterrupted
    assert proc.log.count(
        f'--resume: no checkpoint to resume in {work_dir}; training starts '
        'from scratch.') == 1
    assert 'Auto resumed from the latest checkpoint' not in proc.log
    assert 'Did not find last_checkpoint' not in proc.log
    assert _checkpoints(work_dir) == ['epoch_3.pth']


def test_kill_during_a_save_keeps_the_previous_checkpoint(
        tmp_path, tiny_image_folder, uninterrupted):
    """SIGKILL half-way through writing epoch 2, with the hook spelled as
    MMEngine's CheckpointHook in the config."""
    work_dir = tmp_path / 'killed'
    proc = _train(
        tiny_image_folder,
        work_dir,
        '--cfg-options',
        'default_hooks.checkpoint.type=CheckpointHook',
        fault=('kill', 'epoch_2.pth'),
        check=False)
    assert proc.returncode == -9, proc.log[-3000:]
    assert _checkpoints(work_dir) == ['epoch_1.pth', 'epoch_2.pth.partial']
    assert (work_dir / 'last_checkpoint').read_text() == str(work_dir /
                                                             'epoch_1.pth')
    load_local_checkpoint(str(work_dir / 'epoch_1.pth'))
    assert 'CheckpointHook runs as AtomicCheckpointHook' in proc.log

    resumed = _train(tiny_image_folder, work_dir, '--resume')
    assert f'--resume: resuming from {work_dir}/epoch_1.pth.' in resumed.log
    assert 'resumed epoch: 1' in resumed.log
    assert ('Removed what an interrupted save left behind (never a whole '
            f'checkpoint): {work_dir}/epoch_2.pth.partial') in resumed.log
    assert _checkpoints(work_dir) == ['epoch_3.pth']
    _assert_bit_identical(work_dir, uninterrupted[0])


def test_sigterm_during_a_save_is_logged_and_leaves_no_partial_file(
        tmp_path, tiny_image_folder, uninterrupted):
    work_dir = tmp_path / 'terminated'
    proc = _train(
        tiny_image_folder,
        work_dir,
        fault=('sigterm', 'epoch_2.pth'),
        check=False)
    assert proc.returncode == 143, proc.log[-3000:]
    assert ('Stopped by SIGTERM in epoch 2, after 12 iterations. Run the same '
            'command with --resume to continue from '
            f'{work_dir}/epoch_1.pth.') in proc.log
    assert 'Traceback' not in proc.log
    assert _checkpoints(work_dir) == ['epoch_1.pth']

    _train(tiny_image_folder, work_dir, '--resume')
    _assert_bit_identical(work_dir, uninterrupted[0])


def _mount_small_tmpfs(folder, size):
    """Mount a tmpfs of ``size`` at ``folder``, or skip the test saying
    why."""
    if os.geteuid() != 0:
        pytest.skip('a small file system needs a tmpfs mount, which needs '
                    'root')
    if shutil.which('mount') is None:
        pytest.skip('no mount command to make a small tmpfs')
    folder.mkdir()
    done = subprocess.run(
        ['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs',
         str(folder)],
        capture_output=True,
        text=True)
    if done.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here: {done.stderr.strip()}')


def test_a_full_disk_stops_with_one_error_and_keeps_the_checkpoint(
        tmp_path, tiny_image_folder, uninterrupted):
    small = tmp_path / 'small'
    _mount_small_tmpfs(small, '64m')
    try:
        work_dir = small / 'run'
        proc = _train(
            tiny_image_folder,
            work_dir,
            fault=('fill', 'epoch_2.pth'),
            check=False)
        assert proc.returncode == 1, proc.log[-3000:]
        errors = [line for line in proc.log.splitlines() if 'ERROR' in line]
        assert len(errors) == 1, proc.log[-3000:]
        assert (f'Could not save {work_dir}/epoch_2.pth: No space left on '
                'device (') in errors[0]
        assert f'KiB free in {work_dir}); nothing partial is left and the ' \
            f'previous checkpoint {work_dir}/epoch_1.pth is kept' in errors[0]
        assert 'Traceback' not in proc.log
        assert _checkpoints(work_dir) == ['disk_filler', 'epoch_1.pth']
        assert (work_dir / 'last_checkpoint').read_text() == str(work_dir /
                                                                 'epoch_1.pth')
        load_local_checkpoint(str(work_dir / 'epoch_1.pth'))

        (work_dir / 'disk_filler').unlink()
        _train(tiny_image_folder, work_dir, '--resume')
        _assert_bit_identical(work_dir, uninterrupted[0])
    finally:
        subprocess.run(['umount', str(small)], check=True)


@pytest.mark.parametrize(
    'damage, skipped, resumed_epoch',
    [('empty last_checkpoint', '{w}/last_checkpoint: empty', 2),
     ('missing named file',
      '{w}/last_checkpoint names {w}/epoch_9.pth: the file does not exist', 2),
     ('truncated newest', '{w}/epoch_2.pth: truncated or not a torch '
      'checkpoint', 1)])
def test_auto_resume_passes_over_what_is_not_whole(tmp_path, two_epochs,
                                                   tiny_image_folder,
                                                   uninterrupted, damage,
                                                   skipped, resumed_epoch):
    work_dir = tmp_path / 'damaged'
    shutil.copytree(two_epochs, work_dir)
    record = work_dir / 'last_checkpoint'
    if damage == 'empty last_checkpoint':
        record.write_text('')
    elif damage == 'missing named file':
        record.write_text(str(work_dir / 'epoch_9.pth'))
    else:
        newest = work_dir / 'epoch_2.pth'
        newest.write_bytes(newest.read_bytes()[:1000])
        record.write_text(str(newest))

    proc = _train(tiny_image_folder, work_dir, '--resume')
    warnings = [line for line in proc.log.splitlines() if 'WARNING' in line]
    (warning, ) = [line for line in warnings if '--resume' in line]
    assert skipped.format(w=work_dir) in warning
    assert warning.endswith(f'resuming from {work_dir}/epoch_'
                            f'{resumed_epoch}.pth, the newest whole '
                            'checkpoint.')
    assert f'resumed epoch: {resumed_epoch}' in proc.log
    _assert_bit_identical(work_dir, uninterrupted[0])


def test_an_explicit_resume_of_a_broken_file_stays_an_error(
        tmp_path, two_epochs, tiny_image_folder):
    broken = tmp_path / 'epoch_2.pth'
    broken.write_bytes((two_epochs / 'epoch_2.pth').read_bytes()[:1000])
    proc = _train(
        tiny_image_folder,
        tmp_path / 'run',
        '--resume',
        str(broken),
        check=False)
    assert proc.returncode != 0
    assert f'CorruptCheckpointError: Checkpoint {broken} is corrupt' in \
        proc.log


def test_two_processes_resume_after_a_kill_during_a_save(
        tmp_path, tiny_image_folder):
    """DDP (gloo): rank 0 is killed while it writes epoch 2; the resumed
    run ends where an uninterrupted one does."""
    straight, killed = tmp_path / 'straight', tmp_path / 'killed'
    _train(tiny_image_folder, straight, gpus=2)
    proc = _train(
        tiny_image_folder,
        killed,
        fault=('kill', 'epoch_2.pth'),
        check=False,
        gpus=2)
    assert proc.returncode != 0
    assert _checkpoints(killed) == ['epoch_1.pth', 'epoch_2.pth.partial']
    assert (killed / 'last_checkpoint').read_text() == str(killed /
                                                           'epoch_1.pth')

    resumed = _train(tiny_image_folder, killed, '--resume', gpus=2)
    assert 'Distributed training: True' in resumed.log
    assert 'resumed epoch: 1' in resumed.log
    assert _checkpoints(killed) == ['epoch_3.pth']
    _assert_bit_identical(killed, straight)


def test_a_config_naming_checkpointhook_gets_the_atomic_hook(load_tool):
    from mmengine.config import Config
    train = load_tool('train.py')
    cfg = Config(
        dict(
            default_hooks=dict(
                checkpoint=dict(type='CheckpointHook', interval=2))))
    (note, ) = train.whole_checkpoints(cfg)
    assert note[1].startswith('default_hooks.checkpoint: CheckpointHook runs '
                              'as AtomicCheckpointHook')
    assert cfg.default_hooks.checkpoint == dict(
        type='AtomicCheckpointHook', interval=2)
    # MMEngine's own hook, chosen on purpose, stays
    cfg.default_hooks.checkpoint.type = 'mmengine.CheckpointHook'
    assert train.whole_checkpoints(cfg) == []
    assert cfg.default_hooks.checkpoint.type == 'mmengine.CheckpointHook'
