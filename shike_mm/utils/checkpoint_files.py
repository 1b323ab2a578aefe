"""Checkpoint files on a local disk: written whole or not at all, and the
newest whole one found again for an auto-resume.

A file is written under a temporary name in its own folder (the final name
plus :data:`PARTIAL_SUFFIX`), flushed to the disk and renamed. A rename in
one folder replaces the file at once, so a kill or a full disk leaves the
previous file as it was, plus at most a ``*.partial`` file that the next
run removes.
"""
import errno
import os
import os.path as osp
import re
import shutil
import zipfile
from contextlib import contextmanager
from typing import Iterator, List, Optional, Tuple

PARTIAL_SUFFIX = '.partial'
#: The file in a work dir where MMEngine records the newest checkpoint.
LAST_CHECKPOINT = 'last_checkpoint'
#: MMEngine's default checkpoint names, ``epoch_3.pth`` and ``iter_300.pth``.
NUMBERED_CHECKPOINT = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class CheckpointWriteError(OSError):
    """A checkpoint could not be written because the disk is full; nothing
    partial is left and the previous checkpoint is kept."""


def _human_size(size: float) -> str:
    for unit in ('bytes', 'KiB', 'MiB'):
        if size < 1024:
            return f'{size:.0f} {unit}' if unit == 'bytes' else \
                f'{size:.1f} {unit}'
        size /= 1024
    return f'{size:.1f} GiB'


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable."""
    try:
        descriptor = os.open(folder or '.', os.O_RDONLY)
    except OSError:  # a folder that cannot be opened cannot be synced
        return
    try:
        os.fsync(descriptor)
    except OSError:  # some file systems refuse fsync on a folder
        pass
    finally:
        os.close(descriptor)


def _remove_partial(partial: str) -> None:
    try:
        os.remove(partial)
    except FileNotFoundError:
        pass


def _disk_full_error(path: str, error: OSError,
                     kept: Optional[str]) -> CheckpointWriteError:
    folder = osp.dirname(osp.abspath(path))
    free = _human_size(shutil.disk_usage(folder).free)
    previous = f'the previous checkpoint {kept} is kept' if kept else \
        'no earlier checkpoint was saved'
    return CheckpointWriteError(
        f'Could not save {path}: {error.strerror} ({free} free '
        f'in {folder}); nothing partial is left and {previous}. Free some '
        'space and resume with --resume')


@contextmanager
def whole_file(path: str, kept: Optional[str] = None) -> Iterator[str]:
    """Write ``path`` whole or not at all.

    The body writes the file whose name it is given (``path`` plus
    :data:`PARTIAL_SUFFIX`, in the same folder); on leaving, that file is
    flushed to the disk (``fsync``) and renamed to ``path``. On any error or
    interruption (also ``KeyboardInterrupt`` and ``SystemExit``) it is
    removed and ``path`` is left as it was.

    Args:
        path (str): The file to write.
        kept (str, optional): The file that stays the valid one if the
            write fails, named in the error. Defaults to None.

    Yields:
        str: The temporary name to write to.

    Raises:
        CheckpointWriteError: The disk (or quota) is full; the message names
            ``path``, the free space and ``kept``.
    """
    partial = path + PARTIAL_SUFFIX
    try:
        yield partial
        with open(partial, 'rb') as written:
            os.fsync(written.fileno())
        os.replace(partial, path)
    except BaseException as error:
        _remove_partial(partial)
        if isinstance(error, OSError) and error.errno in _DISK_FULL:
            raise _disk_full_error(path, error, kept) from error
        raise
    _fsync_folder(osp.dirname(path))


def write_text_whole(path: str, text: str, kept: Optional[str] = None) -> None:
    """Write ``text`` to ``path`` with :func:`whole_file`."""
    with whole_file(path, kept) as partial, open(partial, 'w') as file:
        file.write(text)


def remove_partial_files(folder: str) -> List[str]:
    """Remove the ``*.partial`` files an interrupted save left in
    ``folder``.

    Returns:
        list[str]: The removed files.
    """
    if not osp.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if name.endswith(PARTIAL_SUFFIX) and osp.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a whole torch checkpoint, or None if it is.

    Reads only the end of the file: a zip archive (what ``torch.save``
    writes) keeps its table of contents there, so a truncated or empty file
    fails. Damage inside a whole file is found by the loader.
    """
    if not osp.isfile(path):
        return 'the file does not exist'
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        return (f'truncated or not a torch checkpoint '
                f'({osp.getsize(path)} bytes, {error})')
    if not any(osp.basename(name) == 'data.pkl' for name in names):
        return 'a zip archive without the data.pkl of a torch checkpoint'
    return None


def _numbered_checkpoints(folder: str) -> List[str]:
    """``epoch_N.pth``/``iter_N.pth`` in ``folder``, the highest N first."""
    if not osp.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        match = NUMBERED_CHECKPOINT.match(name)
        if match:
            found.append((int(match.group(1)), osp.join(folder, name)))
    return [path for _, path in sorted(found, reverse=True)]


def find_resume_checkpoint(work_dir: str) -> Tuple[Optional[str], List[str]]:
    """The newest whole checkpoint of the run in ``work_dir``, for an
    auto-resume, and what was passed over.

    The file named in ``last_checkpoint`` comes first (MMEngine's record of
    the newest), then ``epoch_N.pth`` and ``iter_N.pth`` in its folder and
    in ``work_dir``, the highest N first. The first whole one
    (:func:`checkpoint_problem`) is chosen.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        tuple[str | None, list[str]]: The checkpoint (None if there is no
        whole one) and one sentence per file passed over, naming it and why.
    """
    record = osp.join(work_dir, LAST_CHECKPOINT)
    skipped, candidates, folders = [], [], [work_dir]
    named = None
    if osp.isfile(record):
        with open(record) as file:
            named = file.read().strip() or None
        if named:
            candidates.append(named)
            folders.insert(0, osp.dirname(named))
        else:
            skipped.append(f'{record}: empty')
    seen = {osp.abspath(path) for path in candidates}
    for folder in folders:
        for path in _numbered_checkpoints(folder):
            if osp.abspath(path) not in seen:
                seen.add(osp.abspath(path))
                candidates.append(path)
    for path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            return path, skipped
        source = f'{record} names {path}' if path == named else path
        skipped.append(f'{source}: {problem}')
    return None, skipped
