"""Distributed set-up that also works on machines without a GPU."""
import logging
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare a ``pytorch`` launch on a machine without CUDA.

    MMEngine's ``init_dist`` always selects a CUDA device and its DDP
    wrapper always passes ``device_ids``, so CPU multi-process runs
    (debugging, CI) fail. This starts a gloo process group, which the Runner
    then reuses, and wraps the model in DDP without device ids.

    Args:
        cfg (Config): The run's config; ``model_wrapper_cfg`` is set unless
            the config has one.
        launcher (str): The ``--launcher`` of the tool.

    Returns:
        bool: Whether the CPU set-up was applied.
    """
    if launcher != 'pytorch' or torch.cuda.is_available():
        return False
    print_log(
        'No GPU: distributed run on the CPU with the gloo backend.',
        logger='current',
        level=logging.WARNING)
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))
    cfg.setdefault(
        'model_wrapper_cfg',
        dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False)))
    return True


def release_distributed() -> None:
    """Destroy the default process group, if one is running.

    Call it when a tool is done, while the interpreter is still whole.
    Without it the gloo backend's worker threads outlive ``main`` and can
    abort the process during interpreter shutdown (``terminate called
    without an active exception``, exit code -6), so a finished run is
    reported as failed. MMEngine's Runner never destroys the group.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()
