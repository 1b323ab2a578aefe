"""Checkpoint files are written whole or not at all, and an auto-resume
finds the newest whole one."""
import errno
import os
import zipfile

import pytest
import torch

from shike_mm.utils.checkpoint_files import (CheckpointWriteError,
                                             checkpoint_problem,
                                             find_resume_checkpoint,
                                             remove_partial_files, whole_file,
                                             write_text_whole)


def test_whole_file_renames_after_the_write(tmp_path):
    path = tmp_path / 'epoch_2.pth'
    path.write_bytes(b'old')
    with whole_file(str(path)) as partial:
        assert partial == f'{path}.partial'
        with open(partial, 'wb') as file:
            file.write(b'new')
        assert path.read_bytes() == b'old'  # not replaced before the end
    assert path.read_bytes() == b'new'
    assert os.listdir(tmp_path) == ['epoch_2.pth']


@pytest.mark.parametrize('interruption', [KeyboardInterrupt, SystemExit])
def test_an_interrupted_write_leaves_the_file_as_it_was(
        tmp_path, interruption):
    path = tmp_path / 'last_checkpoint'
    path.write_text('epoch_1.pth')
    with pytest.raises(interruption):
        with whole_file(str(path)) as partial:
            with open(partial, 'w') as file:
                file.write('epoch_')
            raise interruption()
    assert path.read_text() == 'epoch_1.pth'
    assert os.listdir(tmp_path) == ['last_checkpoint']


def test_a_full_disk_names_the_file_the_free_space_and_what_is_kept(tmp_path):
    path = tmp_path / 'epoch_2.pth'
    with pytest.raises(CheckpointWriteError) as raised:
        with whole_file(str(path), kept=str(tmp_path / 'epoch_1.pth')) as \
                partial:
            open(partial, 'wb').close()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    message = str(raised.value)
    assert message.startswith(f'Could not save {path}: No space left on '
                              'device (')
    assert f' free in {tmp_path}); nothing partial is left and the ' \
        f'previous checkpoint {tmp_path}/epoch_1.pth is kept.' in message
    assert isinstance(raised.value, OSError)
    assert os.listdir(tmp_path) == []


def test_other_errors_pass_unchanged(tmp_path):
    with pytest.raises(PermissionError):
        with whole_file(str(tmp_path / 'a.pth')):
            raise PermissionError(errno.EACCES, 'denied')


def test_write_text_whole_and_remove_partial_files(tmp_path):
    write_text_whole(str(tmp_path / 'last_checkpoint'), 'epoch_3.pth')
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_3.pth'
    (tmp_path / 'epoch_4.pth.partial').write_bytes(b'half')
    assert remove_partial_files(
        str(tmp_path)) == [str(tmp_path / 'epoch_4.pth.partial')]
    assert os.listdir(tmp_path) == ['last_checkpoint']
    assert remove_partial_files(str(tmp_path / 'missing')) == []


@pytest.fixture
def checkpoint_bytes(tmp_path):
    buffer = tmp_path / 'whole.pth'
    torch.save({'state_dict': {'w': torch.ones(64)}}, str(buffer))
    data = buffer.read_bytes()
    buffer.unlink()
    return data


def test_checkpoint_problem(tmp_path, checkpoint_bytes):
    whole, truncated, empty, other = (
        tmp_path / name
        for name in ('whole.pth', 'truncated.pth', 'empty.pth', 'other.pth'))
    whole.write_bytes(checkpoint_bytes)
    truncated.write_bytes(checkpoint_bytes[:len(checkpoint_bytes) // 2])
    empty.write_bytes(b'')
    with zipfile.ZipFile(other, 'w') as archive:
        archive.writestr('notes.txt', 'hello')
    assert checkpoint_problem(str(whole)) is None
    assert checkpoint_problem(
        str(truncated)).startswith('truncated or not a torch checkpoint (')
    assert checkpoint_problem(str(empty)) == (
        'truncated or not a torch checkpoint (0 bytes, File is not a zip '
        'file)')
    assert checkpoint_problem(str(other)) == (
        'a zip archive without the data.pkl of a torch checkpoint')
    assert checkpoint_problem(str(
        tmp_path / 'missing.pth')) == ('the file does not exist')


def _run_dir(tmp_path, checkpoint_bytes, record=None, broken=()):
    for epoch in (1, 2, 3):
        data = checkpoint_bytes[:100] if epoch in broken else checkpoint_bytes
        (tmp_path / f'epoch_{epoch}.pth').write_bytes(data)
    if record is not None:
        (tmp_path / 'last_checkpoint').write_text(record)
    return str(tmp_path)


def test_the_named_whole_checkpoint_is_chosen(tmp_path, checkpoint_bytes):
    # last_checkpoint is MMEngine's record, even where a newer file exists
    work_dir = _run_dir(tmp_path, checkpoint_bytes,
                        str(tmp_path / 'epoch_2.pth'))
    assert find_resume_checkpoint(work_dir) == (f'{work_dir}/epoch_2.pth', [])


def test_without_a_record_the_highest_whole_number_is_chosen(
        tmp_path, checkpoint_bytes):
    work_dir = _run_dir(tmp_path, checkpoint_bytes, broken=(3, ))
    (tmp_path / 'epoch_10.pth.partial').write_bytes(b'')
    (tmp_path / 'best_accuracy_top1_epoch_3.pth').write_bytes(checkpoint_bytes)
    found, skipped = find_resume_checkpoint(work_dir)
    assert found == f'{work_dir}/epoch_2.pth'
    (reason, ) = skipped
    assert reason.startswith(f'{work_dir}/epoch_3.pth: truncated')


def test_an_empty_or_dangling_record_and_truncated_files_are_skipped(
        tmp_path, checkpoint_bytes):
    work_dir = _run_dir(tmp_path, checkpoint_bytes, '', broken=(2, 3))
    found, skipped = find_resume_checkpoint(work_dir)
    assert found == f'{work_dir}/epoch_1.pth'
    assert skipped[0] == f'{work_dir}/last_checkpoint: empty'
    assert [s.split(':')[0] for s in skipped[1:]
            ] == [f'{work_dir}/epoch_3.pth', f'{work_dir}/epoch_2.pth']

    (tmp_path / 'last_checkpoint').write_text(f'{work_dir}/iter_9.pth')
    found, skipped = find_resume_checkpoint(work_dir)
    assert found == f'{work_dir}/epoch_1.pth'
    assert skipped[0] == (f'{work_dir}/last_checkpoint names '
                          f'{work_dir}/iter_9.pth: the file does not exist')
    assert len(skipped) == 3  # each file is named once


def test_nothing_to_resume(tmp_path):
    assert find_resume_checkpoint(str(tmp_path)) == (None, [])
    assert find_resume_checkpoint(str(tmp_path / 'missing')) == (None, [])
