"""What a test run left in a source checkout: tests write under their
``tmp_path``, never into the checkout."""
import fnmatch
import os
import os.path as osp
import subprocess
from typing import Dict, List, Optional

#: Byproducts of running Python, pytest and coverage themselves, not of a
#: test (file-name patterns).
BYPRODUCTS = ('__pycache__', '.pytest_cache', '.coverage', '.coverage.*')


def untracked_entries(root: str) -> Optional[Dict[str, int]]:
    """The untracked paths of the git checkout at ``root``, ignored ones
    included, with their modification times.

    A folder that holds no tracked file is one entry (``work_dirs/``), so
    a large ignored folder such as ``data/`` is not walked.

    Args:
        root (str): Root of the checkout.

    Returns:
        dict[str, int] | None: Path relative to ``root`` (folders end with
        ``/``) to its ``st_mtime_ns``; None when ``root`` is not a git
        checkout or git is not installed.
    """
    try:
        listing = subprocess.run(
            ['git', 'ls-files', '--others', '--directory', '-z'],
            cwd=root,
            capture_output=True,
            check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    entries = {}
    for path in listing.decode('utf-8', 'surrogateescape').split('\0'):
        if not path or any(
                fnmatch.fnmatch(part, pattern)
                for part in path.rstrip('/').split('/')
                for pattern in BYPRODUCTS):
            continue
        try:
            entries[path] = os.stat(osp.join(root, path)).st_mtime_ns
        except FileNotFoundError:  # removed since git listed it
            continue
    return entries


def new_artefacts(before: Dict[str, int], after: Dict[str, int]) -> List[str]:
    """Entries of ``after`` that are new or changed since ``before`` (a
    folder changes when an entry is added to it or removed from it).

    Args:
        before (dict[str, int]): :func:`untracked_entries` at the start.
        after (dict[str, int]): :func:`untracked_entries` at the end.

    Returns:
        list[str]: The paths, sorted.
    """
    return sorted(path for path, mtime in after.items()
                  if before.get(path) != mtime)
