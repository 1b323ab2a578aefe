"""The TorchScript reader gives the archive's tensors as torch.jit.load
does, and refuses any pickled global outside its closed list without
running it."""
import os.path as osp
import pickle
import zipfile

import pytest
import torch

from shike_mm.utils.torchscript_archive import (UnsupportedArchiveError,
                                                is_torchscript_archive,
                                                read_torchscript_archive)


@pytest.fixture
def archive(fake_clip):
    return str(fake_clip.archive)


def test_tensors_and_classes_are_those_of_torch_jit_load(archive):
    found = read_torchscript_archive(archive)
    expected = torch.jit.load(archive).state_dict()
    assert set(found.tensors) == set(expected)
    for key, value in expected.items():
        assert found.tensors[key].dtype == torch.float16
        assert torch.equal(found.tensors[key], value), key
    assert any(name.endswith('.QuickGELU') for name in found.classes)
    assert is_torchscript_archive(archive)


class _Payload:
    """Pickles as a call of ``os.system`` that would create a file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os
        return os.system, (f'touch {self.marker}', )


def test_a_pickled_call_is_refused_without_running(archive, tmp_path):
    marker = tmp_path / 'ran'
    evil = tmp_path / 'evil.pt'
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(evil,
                                                             'w') as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith('/data.pkl'):
                data = pickle.dumps(_Payload(marker), protocol=2)
            target.writestr(item, data)
    with pytest.raises(UnsupportedArchiveError, match='system'):
        read_torchscript_archive(str(evil))
    assert not osp.exists(marker)


def test_a_plain_checkpoint_is_not_an_archive(tmp_path):
    path = tmp_path / 'plain.pth'
    torch.save(dict(state_dict={'a': torch.zeros(1)}), path)
    assert not is_torchscript_archive(str(path))
