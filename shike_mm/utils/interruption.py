"""How a training run stops when it cannot go on: pre-empted with SIGTERM,
or out of disk space for a checkpoint."""
import os
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from mmengine.dist import is_main_process

from .checkpoint_files import CheckpointWriteError, find_resume_checkpoint

#: The exit status of a run stopped by SIGTERM (128 + the signal's number,
#: as a shell reports a process killed by it).
SIGTERM_EXIT_STATUS = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived (raised in the main thread, like
    ``KeyboardInterrupt``, so that no ``except Exception`` swallows it)."""


def resume_hint(work_dir: str) -> str:
    """What ``--resume`` in ``work_dir`` would continue from, in a sentence."""
    found, _ = find_resume_checkpoint(work_dir)
    if found is None:
        return f'No checkpoint is saved in {work_dir} yet: a --resume ' \
            'there starts from scratch.'
    return f'Run the same command with --resume to continue from {found}.'


@contextmanager
def stop_cleanly(runner) -> Iterator[None]:
    """Run a training run's body so that it stops with one clear message.

    - SIGTERM (how schedulers pre-empt a job) interrupts the run like
      Ctrl-C: a checkpoint being written is removed, never left partial
      (:func:`~shike_mm.utils.checkpoint_files.whole_file`), the log names
      the checkpoint to resume from and the process exits with status 143.
      Forked data-loader workers leave SIGTERM to the training process,
      which stops them.
    - A checkpoint that does not fit on the disk
      (:class:`~shike_mm.utils.checkpoint_files.CheckpointWriteError`) is
      logged as one ERROR line and the process exits with status 1.

    Args:
        runner (Runner): The run; its logger and work dir are used.
    """
    owner = os.getpid()

    def on_sigterm(signum, frame):
        if os.getpid() == owner:
            raise Terminated()

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM,
                             on_sigterm) if in_main_thread else None
    try:
        yield
    except Terminated:
        if is_main_process():
            runner.logger.error(
                f'Stopped by SIGTERM in epoch {runner.epoch + 1}, after '
                f'{runner.iter} iterations. {resume_hint(runner.work_dir)}')
        raise SystemExit(SIGTERM_EXIT_STATUS) from None
    except CheckpointWriteError as error:
        runner.logger.error(str(error))
        raise SystemExit(1) from None
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
