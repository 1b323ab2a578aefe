"""configure_cpu_threads: one thread per spare core and process without a
GPU, unless OMP_NUM_THREADS says otherwise."""
import pytest
import torch

from shike_mm.utils import threads


@pytest.fixture
def cpu_machine(monkeypatch):
    """A machine without a GPU whose core count the test sets; torch's
    thread count is restored afterwards."""
    saved = torch.get_num_threads()
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.delenv('LOCAL_WORLD_SIZE', raising=False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)

    def with_cores(cores):
        monkeypatch.setattr(threads.os, 'sched_getaffinity',
                            lambda pid: set(range(cores)))

    yield with_cores
    torch.set_num_threads(saved)


@pytest.mark.parametrize('cores, processes, expected', [(2, 1, 1), (2, 2, 1),
                                                        (8, 1, 7), (8, 2, 3)])
def test_one_core_is_left_free(cpu_machine, monkeypatch, cores, processes,
                               expected):
    cpu_machine(cores)
    monkeypatch.setenv('LOCAL_WORLD_SIZE', str(processes))
    message = threads.configure_cpu_threads()
    assert torch.get_num_threads() == expected
    assert message == (
        f'CPU-only run: torch uses {expected} thread(s) per process '
        f'({cores} cores, {processes} process(es), one core left for data '
        'loading and other work); set OMP_NUM_THREADS to choose')


def test_omp_num_threads_is_respected(cpu_machine, monkeypatch):
    cpu_machine(8)
    torch.set_num_threads(3)
    monkeypatch.setenv('OMP_NUM_THREADS', '3')
    assert threads.configure_cpu_threads() == (
        'CPU-only run: torch uses 3 threads (OMP_NUM_THREADS=3)')
    assert torch.get_num_threads() == 3


def test_gpu_runs_are_left_alone(cpu_machine, monkeypatch):
    cpu_machine(8)
    torch.set_num_threads(5)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert threads.configure_cpu_threads() is None
    assert torch.get_num_threads() == 5


def test_a_config_can_pin_the_count(cpu_machine):
    cpu_machine(8)
    assert threads.configure_cpu_threads(pinned=2) == (
        'CPU-only run: torch uses 2 thread(s) per process, as the config '
        'pins (cpu_threads); OMP_NUM_THREADS overrides it')
    assert torch.get_num_threads() == 2
    with pytest.raises(ValueError, match='cpu_threads must be a positive'):
        threads.configure_cpu_threads(pinned=0)


def test_omp_num_threads_overrides_the_pin(cpu_machine, monkeypatch):
    cpu_machine(8)
    torch.set_num_threads(3)
    monkeypatch.setenv('OMP_NUM_THREADS', '3')
    threads.configure_cpu_threads(pinned=1)
    assert torch.get_num_threads() == 3


@pytest.mark.parametrize('value', ['abc', '0', '1.5', '-2'])
def test_an_invalid_omp_num_threads_is_ignored_and_said_so(
        cpu_machine, monkeypatch, value):
    """OpenMP ignores it and torch would take every core; the run chooses
    as without it, and its log says so."""
    cpu_machine(8)
    torch.set_num_threads(8)
    monkeypatch.setenv('OMP_NUM_THREADS', value)
    assert threads.configure_cpu_threads() == (
        f"CPU-only run: OMP_NUM_THREADS='{value}' is not a positive "
        'integer, so it is ignored; torch uses 7 thread(s) per process (8 '
        'cores, 1 process(es), one core left for data loading and other '
        'work); set OMP_NUM_THREADS to choose')
    assert torch.get_num_threads() == 7
    assert threads.configure_cpu_threads(pinned=2) == (
        f"CPU-only run: OMP_NUM_THREADS='{value}' is not a positive "
        'integer, so it is ignored; torch uses 2 thread(s) per process, as '
        'the config pins (cpu_threads); OMP_NUM_THREADS overrides it')
    assert torch.get_num_threads() == 2
