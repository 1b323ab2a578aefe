"""Distributed set-up that also works on machines without a GPU."""
import logging
import os
import time

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log

#: How long a process waits after destroying a gloo process group, with the
#: GIL released, for gloo's worker threads to drop their last collectives
#: (:func:`release_distributed`).
GLOO_SETTLE_SECONDS = 0.2


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


def release_distributed(finished: bool = False) -> None:
    """Destroy the default process group, if one is running, and let its
    gloo threads drop what they hold while the interpreter is whole.

    Call it when a tool is done, before the interpreter shuts down. A gloo
    worker thread drops its last collective (MMEngine's final
    ``all_gather_object`` of the metrics) a moment after the caller has its
    result, and dropping it decrefs Python tensors, which needs the GIL.
    If that moment falls in interpreter shutdown, Python refuses the GIL,
    ends the thread through a C++ destructor and the process aborts
    (``terminate called without an active exception``, exit code -6), so a
    finished run is reported as failed. ``destroy_process_group`` does not
    stop those threads: MMEngine's Runner never destroys the group, and the
    DDP wrapper keeps gloo's backend alive after it.

    So a finished process first waits for its peers (a barrier: no rank's
    collectives are still in flight), then destroys the group and sleeps
    :data:`GLOO_SETTLE_SECONDS` with the GIL released, in which the threads
    take it and drop their work. After an error there is no barrier (a
    peer may never reach it).

    Args:
        finished (bool): Every rank ended its work normally. Defaults to
            False.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    uses_gloo = 'gloo' in str(torch_dist.get_backend())
    if finished:
        torch_dist.barrier()
    torch_dist.destroy_process_group()
    if uses_gloo:
        time.sleep(GLOO_SETTLE_SECONDS)
