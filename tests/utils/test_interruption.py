"""stop_cleanly turns SIGTERM and a full disk into one logged line and an
exit status."""
import logging
import os
import signal
from types import SimpleNamespace

import pytest

from shike_mm.utils.checkpoint_files import CheckpointWriteError
from shike_mm.utils.interruption import SIGTERM_EXIT_STATUS, stop_cleanly


class Recorder(logging.Handler):

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append((record.levelname, record.getMessage()))


@pytest.fixture
def runner(tmp_path):
    logger = logging.getLogger(f'stop_cleanly_{tmp_path.name}')
    logger.propagate = False
    logger.addHandler(Recorder())
    return SimpleNamespace(
        logger=logger, work_dir=str(tmp_path), epoch=1, iter=12)


def _records(runner):
    return runner.logger.handlers[0].records


def test_sigterm_names_the_checkpoint_to_resume_from(runner, tmp_path):
    (tmp_path / 'epoch_1.pth').write_bytes(b'')  # not a whole checkpoint
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as stopped:
        with stop_cleanly(runner):
            os.kill(os.getpid(), signal.SIGTERM)
            signal.pause()  # not reached: the handler raises
    assert stopped.value.code == SIGTERM_EXIT_STATUS == 143
    assert _records(runner) == [
        ('ERROR', 'Stopped by SIGTERM in epoch 2, after 12 iterations. No '
         f'checkpoint is saved in {tmp_path} yet: a --resume there starts '
         'from scratch.')
    ]
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_full_disk_is_one_error_line(runner):
    with pytest.raises(SystemExit) as stopped:
        with stop_cleanly(runner):
            raise CheckpointWriteError('Could not save epoch_2.pth: ...')
    assert stopped.value.code == 1
    assert _records(runner) == [('ERROR', 'Could not save epoch_2.pth: ...')]


def test_other_errors_pass_unchanged(runner):
    with pytest.raises(ValueError, match='bad'):
        with stop_cleanly(runner):
            raise ValueError('bad')
    assert _records(runner) == []
