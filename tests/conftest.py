"""Shared fixtures: fake CIFAR pickles, tiny image folders, tool runs and
imports, free ports, a machine without a C++ compiler; and the check that a
test session leaves nothing in the checkout."""
import importlib.util
import os.path as osp
import socket
import subprocess
import sys

import pytest

from shike_mm.testing import (bypass_cifar_md5, write_fake_cifar,
                              write_image_folder)
from shike_mm.testing.checkout import new_artefacts, untracked_entries

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ALLOW_ARTEFACTS = '--allow-checkout-artefacts'
_UNTRACKED_AT_START = pytest.StashKey()


def pytest_addoption(parser):
    parser.addoption(
        ALLOW_ARTEFACTS,
        action='store_true',
        help='do not fail the session when the checkout gained untracked '
        'files during it (e.g. from a training run of your own)')


def pytest_sessionstart(session):
    config = session.config
    if not config.getoption(ALLOW_ARTEFACTS) and not hasattr(
            config, 'workerinput'):  # checked once, not per xdist worker
        config.stash[_UNTRACKED_AT_START] = untracked_entries(REPO_ROOT)


def pytest_sessionfinish(session, exitstatus):
    """Fail the session if the checkout gained untracked files (ignored
    ones included): tests write under ``tmp_path``."""
    before = session.config.stash.get(_UNTRACKED_AT_START, None)
    after = untracked_entries(REPO_ROOT) if before is not None else None
    left = new_artefacts(before, after) if after is not None else []
    if not left:
        return
    message = (f'The test session left {len(left)} untracked path(s) in the '
               f'checkout {REPO_ROOT}: {", ".join(left)}. Tests must write '
               f'under tmp_path. (Another process writing into the checkout '
               f'meanwhile also shows here; {ALLOW_ARTEFACTS} skips the '
               'check.)')
    reporter = session.config.pluginmanager.get_plugin('terminalreporter')
    if reporter is not None:
        reporter.write('\n')
        reporter.write_sep('=', 'files left in the checkout', red=True)
        reporter.write_line(message, red=True, bold=True)
    else:
        print(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago, for a process
    group's rendezvous."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_cpp_compiler():
    """torch.compile's inductor finds no C++ compiler during the test.

    Patched through torch's own config context: pytest's ``monkeypatch``
    (>= 9.2) undoes a ``setattr`` on torch's config proxies by deleting the
    option, which breaks every later use of it in the session.
    """
    from torch._inductor import config as inductor_config
    with inductor_config.patch({'cpp.cxx': ('no-such-c++', )}):
        yield


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


def _run_tool(*args, cwd=REPO_ROOT, env=None, check=True, fake_cifar=False):
    cmd = [sys.executable]
    if fake_cifar:  # the fake pickles fail MMPretrain's md5 checks
        cmd += ['-m', 'shike_mm.testing.without_cifar_md5']
    cmd.append(osp.join(REPO_ROOT, 'tools', args[0]))
    proc = subprocess.run(
        cmd + [str(a) for a in args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}')
    return proc


@pytest.fixture(scope='session')
def run_tool():
    """``run_tool(script, *args)`` runs ``tools/<script>`` in a fresh
    interpreter and fails the test, with its output, on a non-zero exit.
    ``fake_cifar=True`` turns off the CIFAR md5 checks in that process."""
    return _run_tool


def _load_tool(script):
    path = osp.join(REPO_ROOT, 'tools', script)
    name = 'tool_' + osp.splitext(osp.basename(script))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def load_tool():
    """``load_tool(script)`` imports ``tools/<script>`` as a fresh module
    in this process, to call its functions (``main``, ``parse_args``)."""
    return _load_tool


@pytest.fixture(scope='session')
def fake_clip(tmp_path_factory):
    """A tiny random CLIP as OpenAI ships them (``archive``, a TorchScript
    file, and its ``state`` in OpenAI's keys: ViT width 64, 2 blocks,
    patch 8 on 32x32 images; a 2-block text tower of width 64) and the
    same converted by ``clip_to_mm.py`` (``converted``)."""
    from types import SimpleNamespace

    from shike_mm.testing import write_fake_clip_archive
    root = tmp_path_factory.mktemp('fake_clip')
    archive, converted = root / 'ViT-tiny.pt', root / 'clip-tiny.pth'
    state = write_fake_clip_archive(str(archive))
    _load_tool('model_converters/clip_to_mm.py').main(
        [str(archive), str(converted)])
    return SimpleNamespace(archive=archive, state=state, converted=converted)


SHIKE_CIFAR_CONFIG = osp.join(REPO_ROOT, 'configs', 'shike',
                              'shike_r32_cifar100-lt-if100.py')


@pytest.fixture
def short_shike_cifar_config(tmp_path, fake_cifar):
    """Factory: the real CIFAR-100-LT IF100 config shortened to
    ``max_epochs`` with the stage switch at ``switch_epoch``, on tiny fake
    CIFAR, written to a file. Extra keyword arguments are merged in."""
    from mmengine.config import Config

    def make(max_epochs=4, switch_epoch=2, augment=True, **overrides):
        # 3 to 1 images per class: 2 batches of 128 per epoch
        data_root = fake_cifar('cifar100', train_per_class=3, test_per_class=1)
        cfg = Config.fromfile(SHIKE_CIFAR_CONFIG)
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            cfg[loader].dataset.data_root = data_root
            cfg[loader].dataset.imb_factor = 2
            cfg[loader].num_workers = 0
            cfg[loader].persistent_workers = False
        if not augment:
            cfg.train_dataloader.dataset.pipeline = [dict(type='PackInputs')]
        cfg.train_cfg.max_epochs = max_epochs
        cfg.custom_hooks[0].switch_epoch = switch_epoch
        # The schedule is tested on its own; a short run keeps the LR
        # constant apart from the hook's reset at the switch.
        cfg.param_scheduler = None
        cfg.default_hooks.logger.interval = 1
        cfg.default_hooks.checkpoint = dict(
            type='CheckpointHook', interval=1, max_keep_ckpts=-1)
        cfg.env_cfg.dist_cfg = dict(backend='gloo')
        cfg.merge_from_dict(overrides)
        path = tmp_path / f'short_shike_{max_epochs}e_switch{switch_epoch}.py'
        cfg.dump(str(path))
        return str(path)

    return make
