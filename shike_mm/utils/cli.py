"""What the command-line tools in ``tools/`` share: their common options,
config loading, one-line error reports, and the Runner set-up of
``train.py`` and ``test.py``."""
import argparse
import importlib
import os
import os.path as osp
import sys
import tempfile
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS, init_default_scope
from mmengine.runner import Runner

from .checkpoint import (TRUST_ENV, CheckpointMismatchError,
                         CorruptCheckpointError, UntrustedCheckpointError)
from .config import PACKAGE_PREFIX, find_config
from .dist import release_distributed, setup_cpu_distributed
from .log_filters import quiet_mmengine_internal_notices
from .threads import configure_cpu_threads

#: Errors that :func:`run_tool` reports as one line (a config, checkpoint
#: or option the tool cannot use) instead of a traceback.
TOOL_ERRORS = (ValueError, OSError, CheckpointMismatchError,
               CorruptCheckpointError, UntrustedCheckpointError)


def add_cfg_options(
        parser: argparse.ArgumentParser,
        help: str = 'config overrides, as key=value pairs') -> None:
    """Add ``--cfg-options key=value ...`` (MMEngine's ``DictAction``).

    Args:
        parser (ArgumentParser): The tool's parser.
        help (str): What the overrides apply to.
    """
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help=help)


def add_device(parser: argparse.ArgumentParser,
               prefer_gpu: bool = False) -> None:
    """Add ``--device``.

    Args:
        parser (ArgumentParser): The tool's parser.
        prefer_gpu (bool): Default to ``'cuda'`` when a GPU is available.
            Defaults to False (always ``'cpu'``).
    """
    if prefer_gpu:
        parser.add_argument(
            '--device',
            default='cuda' if torch.cuda.is_available() else 'cpu',
            help='device to run on (default: cuda when available)')
    else:
        parser.add_argument('--device', default='cpu', help='device to run on')


class _TrustCheckpoints(argparse.Action):
    """A flag that lets this process fully unpickle checkpoints (see
    :mod:`shike_mm.utils.checkpoint`)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(
            option_strings, dest, nargs=0, default=False, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        os.environ[TRUST_ENV] = '1'
        setattr(namespace, self.dest, True)


def add_trust_checkpoint(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--trust-checkpoint``, which sets ``SHIKE_MM_TRUST_CHECKPOINTS=1``
    for the process as it is parsed.

    Args:
        parser (ArgumentParser): The tool's parser.
        what (str): The checkpoints it trusts, for the help.
    """
    parser.add_argument(
        '--trust-checkpoint',
        action=_TrustCheckpoints,
        help=f'fully unpickle {what}; only for files from a source you trust')


def add_launcher(parser: argparse.ArgumentParser) -> None:
    """Add ``--launcher`` and the ``--local-rank`` (or ``--local_rank``)
    that ``torch.distributed.launch`` passes; :func:`built_runner` uses
    both."""
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(name: str, cfg_options: Optional[dict] = None) -> Config:
    """Load a config, apply the command line's overrides and set its
    default scope.

    Args:
        name (str): A file, a shipped config (``shike/...py``,
            ``shike_mm::shike/...py``) or ``package::path``, a config
            shipped with another installed OpenMMLab package (under its
            ``.mim/configs``), such as
            ``mmpretrain::resnet/resnet50_8xb32_in1k.py``.
        cfg_options (dict, optional): ``--cfg-options``. Defaults to None.

    Returns:
        Config: The config.
    """
    package, separator, path = name.partition('::')
    if separator and not name.startswith(PACKAGE_PREFIX):
        try:
            module = importlib.import_module(package)
        except ImportError as error:
            raise ValueError(f'{name}: package {package!r} is not '
                             f'installed ({error})') from error
        config_file = osp.join(
            osp.dirname(module.__file__), '.mim', 'configs', path)
        if not osp.isfile(config_file):
            raise ValueError(f'{name}: {package} ships no config {path} '
                             f'(looked for {config_file})')
        cfg = Config.fromfile(config_file)
    else:
        cfg = Config.fromfile(find_config(name))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    return cfg


def set_work_dir(cfg: Config, work_dir: Optional[str], config: str) -> None:
    """``cfg.work_dir``: ``--work-dir`` if given, else the config's own,
    else ``./work_dirs/<config file name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])


def writable_folder(path: str, option: str = '--out-dir') -> str:
    """Create an output folder and check that a file can be written in it,
    so that a tool finds an unusable one before its work, not after.

    Args:
        path (str): The folder.
        option (str): The option that named it, for the message.

    Returns:
        str: ``path``.

    Raises:
        ValueError: If the folder cannot be created or written to.
    """
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise ValueError(f'{option} {path} is not a folder this process can '
                         f'write to ({type(error).__name__}: '
                         f'{error.strerror or error})') from error
    return path


def set_cpu_threads(cfg: Config) -> None:
    """Choose torch's CPU threads as a training run does (the config's
    ``cpu_threads``, else from the cores; see
    :func:`~shike_mm.utils.threads.configure_cpu_threads`) and print the
    choice."""
    threads = configure_cpu_threads(cfg.get('cpu_threads'))
    if threads:
        print(threads)


@contextmanager
def built_runner(cfg: Config, args: argparse.Namespace) -> Iterator[Runner]:
    """The Runner of ``cfg``, for ``train.py`` and ``test.py``.

    Before building it, sets the CPU threads and, for a ``pytorch`` launch
    without a GPU, a gloo process group
    (:func:`~shike_mm.utils.dist.setup_cpu_distributed`). The run's log
    names the thread choice and leaves out MMEngine's notices about its own
    internals. The process group is released on exit
    (:func:`~shike_mm.utils.dist.release_distributed`, after a barrier when
    the body ended normally).

    Args:
        cfg (Config): The run's config.
        args (Namespace): The parsed options of :func:`add_launcher`.

    Yields:
        Runner: The runner.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    threads = configure_cpu_threads(cfg.get('cpu_threads'))
    setup_cpu_distributed(cfg, args.launcher)
    try:
        if 'runner_type' in cfg:
            runner = RUNNERS.build(cfg)
        else:
            runner = Runner.from_cfg(cfg)
        quiet_mmengine_internal_notices(runner.logger)
        if threads:
            runner.logger.info(threads)
        yield runner
    except BaseException:
        release_distributed()
        raise
    release_distributed(finished=True)


def run_tool(main: Callable[[], object]) -> None:
    """Run a tool's ``main``. An error of :data:`TOOL_ERRORS` ends the
    process with ``<tool>.py: error: <message>`` and exit status 1, as
    argparse reports a wrong option, instead of a traceback."""
    try:
        main()
    except TOOL_ERRORS as error:
        sys.exit(f'{osp.basename(sys.argv[0])}: error: {error}')
