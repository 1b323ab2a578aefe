"""AtomicCheckpointHook keeps the previous periodic and best checkpoint
until the next one is whole, saves the same files as MMEngine's hook, and
leaves other file backends to MMEngine."""
import errno
import os
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.fileio import FileClient, LocalBackend, register_backend
from mmengine.fileio.backends import BaseStorageBackend
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner

from shike_mm.engine.hooks import AtomicCheckpointHook
from shike_mm.utils import find_config, load_local_checkpoint
from shike_mm.utils.checkpoint_files import (CheckpointWriteError,
                                             find_resume_checkpoint)

KEY = 'accuracy/top1'


def _smoke_cfg(work_dir, data_root, **checkpoint):
    """The smoke config for 3 epochs of 6 iterations, its checkpoint hook
    as the shipped recipes configure it (one kept) unless ``checkpoint``
    says otherwise."""
    cfg = Config.fromfile(find_config('smoke/tiny-resnet_fake-images.py'))
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.data_root = data_root
    cfg.default_hooks.checkpoint.update({'max_keep_ckpts': 1, **checkpoint})
    cfg.work_dir = str(work_dir)
    # One logger and visualizer per run, even for runs in the same second.
    cfg.experiment_name = str(work_dir).strip('/').replace('/', '_')
    cfg.randomness = dict(seed=0)
    return cfg


def _always_better(runner):
    """Every evaluation is a new best one, whatever the accuracy."""
    (hook, ) = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
    hook.is_better_than[KEY] = lambda score, best: True


@pytest.fixture
def disk_full_at():
    """``disk_full_at(name)``: the local backend's first write of a file
    whose name starts with ``name`` writes half of it and fails as a full
    disk does."""
    put = LocalBackend.put

    def fail_at(name):
        pending = [True]

        def put_until_full(self, obj, filepath):
            if pending and osp.basename(filepath).startswith(name):
                pending.clear()
                with open(filepath, 'wb') as half:
                    half.write(obj[:len(obj) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return put(self, obj, filepath)

        LocalBackend.put = put_until_full

    yield fail_at
    LocalBackend.put = put


def test_the_shipped_hook_is_atomic(tmp_path, tiny_image_folder):
    runner = Runner.from_cfg(_smoke_cfg(tmp_path, tiny_image_folder))
    assert [type(h) for h in runner.hooks
            if isinstance(h, CheckpointHook)] == [AtomicCheckpointHook]


def test_a_failed_periodic_save_keeps_the_previous_checkpoint(
        tmp_path, tiny_image_folder, disk_full_at):
    runner = Runner.from_cfg(_smoke_cfg(tmp_path, tiny_image_folder))
    disk_full_at('epoch_2.pth')
    with pytest.raises(OSError, match='No space left on device'):
        runner.train()
    assert sorted(f for f in os.listdir(tmp_path)
                  if '.pth' in f) == ['epoch_1.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path /
                                                             'epoch_1.pth')
    assert load_local_checkpoint(str(tmp_path /
                                     'epoch_1.pth'))['meta']['epoch'] == 1


def test_a_failed_best_save_keeps_the_previous_best(tmp_path,
                                                    tiny_image_folder,
                                                    disk_full_at):
    runner = Runner.from_cfg(
        _smoke_cfg(tmp_path, tiny_image_folder, save_best=KEY))
    _always_better(runner)
    disk_full_at(f'best_{KEY.replace("/", "_")}_epoch_2.pth')
    with pytest.raises(CheckpointWriteError) as raised:
        runner.train()
    best_1 = tmp_path / 'best_accuracy_top1_epoch_1.pth'
    assert sorted(f for f in os.listdir(tmp_path) if '.pth' in f) == [
        'best_accuracy_top1_epoch_1.pth', 'epoch_2.pth'
    ]
    assert f'the previous checkpoint {best_1} is kept' in str(raised.value)
    assert load_local_checkpoint(str(best_1))['meta']['epoch'] == 1


def _saved(work_dir):
    """The checkpoint files of a run and what its last checkpoint
    records."""
    files = sorted(f for f in os.listdir(work_dir) if '.pth' in f)
    last = load_local_checkpoint(osp.join(work_dir, 'epoch_3.pth'))
    info = last['message_hub']['runtime_info']
    return files, {
        key: osp.basename(str(info.get(key)))
        for key in ('keep_ckpt_ids', 'last_ckpt', 'best_ckpt')
    }, open(osp.join(work_dir, 'last_checkpoint')).read()


@pytest.mark.parametrize('max_keep_ckpts', [1, 2])
def test_same_files_and_records_as_mmengine(tmp_path, tiny_image_folder,
                                            max_keep_ckpts):
    saved = {}
    for hook in ('mmengine.CheckpointHook', 'AtomicCheckpointHook'):
        work_dir = tmp_path / hook
        runner = Runner.from_cfg(
            _smoke_cfg(
                work_dir,
                tiny_image_folder,
                type=hook,
                save_best=KEY,
                max_keep_ckpts=max_keep_ckpts))
        _always_better(runner)
        runner.train()
        files, records, last = _saved(str(work_dir))
        saved[hook] = files, records, last.replace(str(work_dir), '')
    assert saved['AtomicCheckpointHook'] == saved['mmengine.CheckpointHook']
    files, records, _ = saved['AtomicCheckpointHook']
    assert files == ['best_accuracy_top1_epoch_3.pth'] + [
        f'epoch_{e}.pth' for e in range(4 - max_keep_ckpts, 4)
    ]
    assert records['best_ckpt'] == 'best_accuracy_top1_epoch_3.pth'


class MemoryBackend(BaseStorageBackend):
    """A file backend that keeps files in a dict, for the test."""

    files = {}

    def get(self, filepath):
        return self.files[filepath]

    def get_text(self, filepath, encoding='utf-8'):
        return self.files[filepath].decode(encoding)

    def put(self, obj, filepath):
        self.files[filepath] = obj

    def isfile(self, filepath):
        return filepath in self.files

    def isdir(self, filepath):
        return False

    def remove(self, filepath):
        del self.files[filepath]

    def join_path(self, filepath, *filepaths):
        return '/'.join((filepath.rstrip('/'), ) + filepaths)


def test_other_backends_save_as_mmengine_does(tmp_path, tiny_image_folder):
    # MMEngine's hook asks both of its file-backend registries.
    for registry in (register_backend, FileClient.register_backend):
        registry(
            'shike_test_memory',
            MemoryBackend,
            force=True,
            prefixes='shike-test-memory')
    cfg = _smoke_cfg(
        tmp_path, tiny_image_folder, out_dir='shike-test-memory://ckpts')
    runner = Runner.from_cfg(cfg)
    runner.train()
    out_dir = f'shike-test-memory://ckpts/{tmp_path.name}'
    assert sorted(MemoryBackend.files) == [f'{out_dir}/epoch_3.pth']
    log = ''.join(
        open(osp.join(root, name)).read()
        for root, _, names in os.walk(tmp_path) for name in names
        if name.endswith('.log'))
    assert (f'Checkpoints go to {out_dir} through MemoryBackend (Runner): '
            "saved as MMEngine's CheckpointHook does") in log


def test_an_out_dir_of_its_own(tmp_path, tiny_image_folder):
    """Checkpoints in ``out_dir``, ``last_checkpoint`` in the work dir: both
    written whole, and what an interrupted save left in either is
    removed."""
    work_dir, out_dir = tmp_path / 'run', tmp_path / 'ckpts' / 'run'
    for folder, stale in ((work_dir, 'last_checkpoint.partial'),
                          (out_dir, 'epoch_1.pth.partial')):
        folder.mkdir(parents=True)
        (folder / stale).write_bytes(b'half')
    runner = Runner.from_cfg(
        _smoke_cfg(work_dir, tiny_image_folder, out_dir=str(out_dir.parent)))
    runner.train()
    assert sorted(os.listdir(out_dir)) == ['epoch_3.pth']
    assert (work_dir / 'last_checkpoint').read_text() == str(out_dir /
                                                             'epoch_3.pth')
    assert not [f for f in os.listdir(work_dir) if f.endswith('.partial')]
    assert find_resume_checkpoint(str(work_dir)) == (str(out_dir /
                                                         'epoch_3.pth'), [])
