"""Shared fixtures: fake CIFAR pickles and tiny image folders."""
import os.path as osp
import subprocess
import sys

import pytest

from shike_mm.testing import (bypass_cifar_md5, write_fake_cifar,
                              write_image_folder)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def fake_cifar(tmp_path_factory):
    """Factory ``fake_cifar(kind, train_per_class, test_per_class)`` that
    returns a data root holding fake CIFAR pickles (cached per arguments).

    Load it inside the ``no_cifar_md5`` fixture: the md5 sums are fake.
    """
    cache = {}

    def make(kind='cifar100', train_per_class=500, test_per_class=100):
        key = (kind, train_per_class, test_per_class)
        if key not in cache:
            root = tmp_path_factory.mktemp(
                f'{kind}_{train_per_class}_{test_per_class}')
            cache[key] = write_fake_cifar(
                str(root), kind, train_per_class, test_per_class)
        return cache[key]

    return make


@pytest.fixture
def no_cifar_md5():
    """MMPretrain's CIFAR datasets skip md5 checks during the test."""
    with bypass_cifar_md5():
        yield


@pytest.fixture(scope='session')
def tiny_image_folder(tmp_path_factory):
    """A 4-class long-tailed image folder with ``train.txt``/``val.txt``."""
    root = str(tmp_path_factory.mktemp('tiny_images'))
    write_image_folder(root, {
        'train.txt': [24, 12, 6, 3],
        'val.txt': [4, 4, 4, 4],
    })
    return root


def _run_tool(*args, cwd=REPO_ROOT, env=None, check=True):
    cmd = [sys.executable, osp.join(REPO_ROOT, 'tools', args[0])]
    proc = subprocess.run(
        cmd + [str(a) for a in args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(cmd)} failed ({proc.returncode}):\n'
            f'{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}')
    return proc


@pytest.fixture(scope='session')
def run_tool():
    """``run_tool(script, *args)`` runs ``tools/<script>`` in a fresh
    interpreter and fails the test, with its output, on a non-zero exit."""
    return _run_tool
