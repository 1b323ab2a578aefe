"""Checkpoints load with weights_only=True and an exact allow-list."""
import fractions
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from shike_mm.utils import (CorruptCheckpointError, UntrustedCheckpointError,
                            load_local_checkpoint)
from shike_mm.utils.checkpoint import TRUST_ENV

SMOKE_CONFIG = 'configs/smoke/tiny-resnet_fake-images.py'


class RunsShellOnLoad:
    """Unpickling this object would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class LooksUpForeignAttribute:
    """Pickles as ``getattr(HistoryBuffer, '__init__')``."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def _save(path, payload):
    torch.save({'state_dict': {'w': torch.ones(2)}, 'payload': payload}, path)
    return str(path)


@pytest.fixture
def malicious_checkpoint(tmp_path):
    marker = tmp_path / 'was_executed'
    path = _save(tmp_path / 'malicious.pth', RunsShellOnLoad(marker))
    return path, marker


def test_mmengine_checkpoint_objects_load(tmp_path):
    buffer = HistoryBuffer()
    buffer.update(1.5)
    path = _save(
        tmp_path / 'ok.pth', {
            'buffer': buffer,
            'array': np.arange(3, dtype=np.int64),
            'scalar': np.float64(2.5),
        })
    loaded = load_local_checkpoint(path)['payload']
    assert loaded['buffer'].current() == 1.5
    assert loaded['buffer'].mean() == 1.5
    np.testing.assert_array_equal(loaded['array'], [0, 1, 2])
    assert loaded['scalar'] == 2.5


def test_foreign_callable_is_refused_and_not_run(malicious_checkpoint):
    path, marker = malicious_checkpoint
    with pytest.raises(UntrustedCheckpointError) as info:
        _load_checkpoint(path)  # the path load_from and resume take
    message = str(info.value)
    assert path in message
    assert 'system' in message
    assert '--trust-checkpoint' in message and TRUST_ENV in message
    assert not marker.exists()


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = _save(tmp_path / 'getattr.pth', LooksUpForeignAttribute())
    with pytest.raises(UntrustedCheckpointError, match='getattr.pth'):
        load_local_checkpoint(path)


def test_explicit_trust_opts_in(tmp_path, monkeypatch):
    path = _save(tmp_path / 'fraction.pth', fractions.Fraction(1, 3))
    with pytest.raises(UntrustedCheckpointError, match='fractions.Fraction'):
        load_local_checkpoint(path)
    monkeypatch.setenv(TRUST_ENV, '1')
    assert load_local_checkpoint(path)['payload'] == fractions.Fraction(1, 3)


@pytest.mark.parametrize('content', [b'', b'not a checkpoint at all'])
def test_corrupt_checkpoint_names_the_file(tmp_path, content):
    path = tmp_path / 'broken.pth'
    path.write_bytes(content)
    with pytest.raises(CorruptCheckpointError, match='broken.pth') as error:
        load_local_checkpoint(str(path))
    # Never relay torch's advice to unpickle fully, not even as the cause.
    assert 'weights_only' not in str(error.value)
    assert 'weights_only' not in str(error.value.__cause__)


def test_truncated_checkpoint_names_the_file(tmp_path):
    good = _save(tmp_path / 'good.pth', None)
    path = tmp_path / 'truncated.pth'
    path.write_bytes(open(good, 'rb').read()[:200])
    with pytest.raises(CorruptCheckpointError, match='truncated.pth'):
        load_local_checkpoint(str(path))


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        load_local_checkpoint(str(tmp_path / 'absent.pth'))


def _data_options(data_root):
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}'
    ]


def _assert_refused(proc, path, marker):
    assert proc.returncode != 0
    assert 'UntrustedCheckpointError' in proc.stderr
    assert f'Refused to load checkpoint {path}' in proc.stderr
    assert '--trust-checkpoint' in proc.stderr
    assert not marker.exists()


def test_test_tool_refuses_foreign_callable(malicious_checkpoint,
                                            tiny_image_folder, tmp_path,
                                            run_tool):
    path, marker = malicious_checkpoint
    proc = run_tool(
        'test.py',
        SMOKE_CONFIG,
        path,
        '--work-dir',
        tmp_path / 'test_wd',
        *_data_options(tiny_image_folder),
        check=False)
    _assert_refused(proc, path, marker)


def test_resume_refuses_foreign_callable(malicious_checkpoint,
                                         tiny_image_folder, tmp_path,
                                         run_tool):
    path, marker = malicious_checkpoint
    proc = run_tool(
        'train.py',
        SMOKE_CONFIG,
        '--work-dir',
        tmp_path / 'train_wd',
        '--resume',
        path,
        *_data_options(tiny_image_folder),
        check=False)
    _assert_refused(proc, path, marker)
    assert not osp.exists(tmp_path / 'train_wd' / 'epoch_1.pth')
