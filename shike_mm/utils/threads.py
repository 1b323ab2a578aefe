"""A sane number of torch threads for runs without a GPU."""
import logging
import os
from typing import Optional

import torch
from mmengine.logging import print_log

#: The standard variable that chooses the thread count instead.
THREADS_ENV = 'OMP_NUM_THREADS'


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, which
    respects container CPU sets), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


def configure_cpu_threads(pinned: Optional[int] = None) -> Optional[str]:
    """Choose torch's intra-op threads for a run without a GPU.

    torch's default uses every core in every process. Two training
    processes on 2 cores, or one process on cores busy with other work,
    then oversubscribe them and every step waits for descheduled threads.
    Without a GPU this sets
    ``cores // local processes - 1`` threads (at least 1), leaving a core
    for data loading and other work. A config can pin the count
    (``cpu_threads``), since the floating-point reduction order, and so a
    CPU run's exact numbers, depend on it; an explicit ``OMP_NUM_THREADS``
    overrides both. An ``OMP_NUM_THREADS`` that is not a positive integer
    (``abc``, ``0``, ``1.5``), which OpenMP ignores, is ignored here too,
    with a WARNING, and the run chooses as without it. Runs with a GPU are
    left alone.

    Args:
        pinned (int, optional): The config's ``cpu_threads``. Defaults to
            None (choose from the cores).

    Returns:
        str | None: One line for the run's log saying what was chosen and
        how to override it, or None with a GPU.
    """
    if torch.cuda.is_available():
        return None
    ignored = ''
    value = os.environ.get(THREADS_ENV)
    if value:
        if value.strip().isdigit() and int(value) > 0:
            return (f'CPU-only run: torch uses {torch.get_num_threads()} '
                    f'threads ({THREADS_ENV}={value})')
        ignored = (f'{THREADS_ENV}={value!r} is not a positive integer, so '
                   'it is ignored; ')
        print_log(
            f'{ignored}torch would otherwise use all '
            f'{torch.get_num_threads()} threads. Set {THREADS_ENV} to a '
            'positive integer, or unset it',
            logger='current',
            level=logging.WARNING)
    if pinned is not None:
        if isinstance(pinned,
                      bool) or not isinstance(pinned, int) or pinned < 1:
            raise ValueError(
                f'cpu_threads must be a positive integer, got {pinned!r}')
        torch.set_num_threads(pinned)
        return (f'CPU-only run: {ignored}torch uses {pinned} thread(s) per '
                f'process, as the config pins (cpu_threads); {THREADS_ENV} '
                'overrides it')
    cores = available_cores()
    processes = max(1, int(os.environ.get('LOCAL_WORLD_SIZE', 1)))
    threads = max(1, cores // processes - 1)
    torch.set_num_threads(threads)
    return (f'CPU-only run: {ignored}torch uses {threads} thread(s) per '
            f'process ({cores} cores, {processes} process(es), one core '
            f'left for data loading and other work); set {THREADS_ENV} to '
            'choose')
