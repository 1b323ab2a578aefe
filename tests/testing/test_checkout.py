"""The checkout-artefact check finds what a run adds to a git checkout,
and only that."""
import os
import shutil
import subprocess
import time

import pytest

from shike_mm.testing.checkout import new_artefacts, untracked_entries

pytestmark = pytest.mark.skipif(
    shutil.which('git') is None, reason='needs the git command')


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / 'repo'
    (root / 'pkg').mkdir(parents=True)
    (root / 'pkg' / 'mod.py').write_text('')
    (root / '.gitignore').write_text('work_dirs/\nbuild/\n')
    (root / 'work_dirs' / 'old').mkdir(parents=True)  # the user's, ignored
    (root / 'notes.txt').write_text('')  # the user's, untracked
    git = ['git', '-c', 'user.name=t', '-c', 'user.email=t@t']
    subprocess.run(git + ['init', '-q'], cwd=root, check=True)
    subprocess.run(git + ['add', 'pkg', '.gitignore'], cwd=root, check=True)
    subprocess.run(git + ['commit', '-q', '-m', 'init'], cwd=root, check=True)
    return root


def _touch_later(path):
    """Make sure a change is seen even on a coarse-mtime file system."""
    time.sleep(0.01)
    stamp = time.time() + 2
    os.utime(path, (stamp, stamp))


def test_nothing_new_is_nothing_found(checkout):
    before = untracked_entries(str(checkout))
    assert set(before) == {'notes.txt', 'work_dirs/'}
    assert new_artefacts(before, untracked_entries(str(checkout))) == []


def test_new_folders_files_and_entries_of_old_folders_are_found(checkout):
    before = untracked_entries(str(checkout))
    (checkout / 'build' / 'lib').mkdir(parents=True)  # ignored, new
    (checkout / 'pkg' / 'copy.py').write_text('')  # untracked, new
    (checkout / 'work_dirs' / 'digits-lt').mkdir()  # inside an old folder
    _touch_later(checkout / 'work_dirs')
    assert new_artefacts(before, untracked_entries(
        str(checkout))) == ['build/', 'pkg/copy.py', 'work_dirs/']


def test_python_and_pytest_byproducts_are_not_artefacts(checkout):
    before = untracked_entries(str(checkout))
    (checkout / 'pkg' / '__pycache__').mkdir()
    (checkout / 'pkg' / '__pycache__' / 'mod.cpython-311.pyc').write_text('')
    (checkout / '.pytest_cache').mkdir()
    (checkout / '.coverage').write_text('')
    (checkout / '.coverage.host.1234').write_text('')
    assert new_artefacts(before, untracked_entries(str(checkout))) == []


def test_a_folder_outside_git_is_not_checked(tmp_path):
    assert untracked_entries(str(tmp_path)) is None
