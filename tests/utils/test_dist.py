"""CPU distributed set-up and tear-down of the tools."""
import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from shike_mm.utils import release_distributed, setup_cpu_distributed


@pytest.fixture
def single_process_env(monkeypatch, free_port):
    """A one-process torchrun environment."""
    for name, value in dict(
            RANK='0',
            WORLD_SIZE='1',
            LOCAL_RANK='0',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(free_port)).items():
        monkeypatch.setenv(name, value)
    yield
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU set-up applies without CUDA')
def test_cpu_setup_starts_gloo_and_release_destroys_it(single_process_env):
    cfg = Config(dict(find_unused_parameters=True))
    assert setup_cpu_distributed(cfg, 'pytorch')
    assert torch_dist.is_initialized()
    assert torch_dist.get_backend() == 'gloo'
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=True)

    release_distributed()
    assert not torch_dist.is_initialized()
    release_distributed()  # a second call is a no-op


def test_cpu_setup_keeps_a_configured_wrapper(single_process_env):
    wrapper = dict(type='MMDistributedDataParallel', device_ids=None)
    cfg = Config(dict(model_wrapper_cfg=wrapper))
    applied = setup_cpu_distributed(cfg, 'pytorch')
    assert applied is not torch.cuda.is_available()
    assert cfg.model_wrapper_cfg == wrapper


def test_cpu_setup_is_skipped_without_the_pytorch_launcher():
    cfg = Config(dict())
    assert not setup_cpu_distributed(cfg, 'none')
    assert 'model_wrapper_cfg' not in cfg
    assert not torch_dist.is_initialized()
    release_distributed()  # nothing to release
