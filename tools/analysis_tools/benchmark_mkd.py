"""Peak memory and time of the mutual-KD loss, forward and backward: the
closed form of :class:`MutualKDLoss` against the former formula, which
built every ordered pair of experts as one ``[M, M, B, C]`` tensor.

Peak memory is what the loss adds on top of the logits, gradient of the
logits included: ``torch.cuda.max_memory_allocated`` on a GPU; on the CPU,
the bytes glibc's malloc has handed out (``mallinfo2``), sampled after every
operator of the forward and backward passes (temporaries inside one
operator are not seen).

Example::

    python tools/analysis_tools/benchmark_mkd.py --sizes 4,512,8142 \\
        3,128,100 --threads 1
"""
import argparse
import ctypes
import ctypes.util
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from shike_mm.models.losses import MutualKDLoss
from shike_mm.utils.cli import add_device, run_tool


def pairwise_mkd(logits: torch.Tensor) -> torch.Tensor:
    """The former MutualKDLoss (``'mean'`` reduction, weight 1): the KL
    divergence of every ordered pair of experts at once, ``[M, M, B, C]``."""
    num_experts, batch_size, num_classes = logits.shape
    log_prob = F.log_softmax(logits, dim=-1)
    pair_kl = log_prob.exp()[:, None] * (log_prob[:, None] - log_prob[None, :])
    off_diagonal = ~torch.eye(
        num_experts, dtype=torch.bool, device=logits.device)
    return pair_kl[off_diagonal].sum() / (batch_size * num_classes)


FORMULAS = {'pairwise [M,M,B,C]': pairwise_mkd, 'closed form': MutualKDLoss()}


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd',
                     'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')
    ]


def _malloc_in_use():
    """A function returning the bytes malloc has handed out (heap and
    mmap), or None without glibc's ``mallinfo2``."""
    libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
    if not hasattr(libc, 'mallinfo2'):
        return None
    libc.mallinfo2.restype = _MallInfo2

    def in_use():
        info = libc.mallinfo2()
        return info.uordblks + info.hblkhd

    return in_use


class _HeapPeak(TorchDispatchMode):
    """Highest ``in_use()`` above its level at entry, sampled after every
    operator."""

    def __init__(self, in_use):
        super().__init__()
        self.in_use = in_use
        self.peak = 0

    def __enter__(self):
        self.base = self.in_use()
        return super().__enter__()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.peak = max(self.peak, self.in_use() - self.base)
        return out


def _step(loss_fn, logits: torch.Tensor) -> None:
    logits.grad = None
    loss_fn(logits).backward()


def peak_memory(loss_fn, logits: torch.Tensor):
    """Peak bytes one forward and backward pass adds, or None when it
    cannot be measured here."""
    if logits.is_cuda:
        torch.cuda.synchronize(logits.device)
        base = torch.cuda.memory_allocated(logits.device)
        torch.cuda.reset_peak_memory_stats(logits.device)
        _step(loss_fn, logits)
        torch.cuda.synchronize(logits.device)
        return torch.cuda.max_memory_allocated(logits.device) - base
    in_use = _malloc_in_use()
    if in_use is None:
        return None
    with _HeapPeak(in_use) as heap:
        _step(loss_fn, logits)
    return heap.peak


def step_time(loss_fn, logits: torch.Tensor, iters: int) -> float:
    """Median seconds of a forward and backward pass, after one more."""
    durations = []
    for _ in range(iters + 1):
        if logits.is_cuda:
            torch.cuda.synchronize(logits.device)
        start = time.perf_counter()
        _step(loss_fn, logits)
        if logits.is_cuda:
            torch.cuda.synchronize(logits.device)
        durations.append(time.perf_counter() - start)
    return statistics.median(durations[1:])


def _size(text: str) -> tuple:
    try:
        num_experts, batch_size, num_classes = (
            int(v) for v in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected M,B,C (three integers), got {text!r}')
    return num_experts, batch_size, num_classes


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Peak memory and time of the mutual-KD loss')
    parser.add_argument(
        '--sizes',
        type=_size,
        nargs='+',
        default=[(4, 512, 8142), (3, 128, 100)],
        help='experts, batch and classes as M,B,C (default: iNaturalist '
        '2018 at batch 512 with 4 experts, and CIFAR-100 at batch 128 with '
        '3 experts)')
    parser.add_argument(
        '--iters', type=int, default=5, help='timed passes per formula')
    add_device(parser, prefer_gpu=True)
    parser.add_argument(
        '--threads', type=int, help='torch threads (default: torch\'s)')
    args = parser.parse_args(argv)
    if args.iters < 1:
        parser.error('--iters must be at least 1')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f'torch {torch.__version__}, device {device}, torch threads '
          f'{torch.get_num_threads()}; float32 logits, forward + backward, '
          f'median of {args.iters} passes')
    print()
    print('| M | B | C | formula | peak memory (MiB) | ms |')
    print('|---|---|---|---|---|---|')
    ratios = []
    for num_experts, batch_size, num_classes in args.sizes:
        generator = torch.Generator().manual_seed(0)
        logits = (30 * (2 * torch.rand(
            num_experts, batch_size, num_classes, generator=generator) - 1))
        logits = logits.to(device).requires_grad_()
        peaks = {}
        for name, loss_fn in FORMULAS.items():
            peaks[name] = peak_memory(loss_fn, logits)
            seconds = step_time(loss_fn, logits, args.iters)
            memory = 'n/a' if peaks[name] is None else \
                f'{peaks[name] / 2**20:.1f}'
            print(f'| {num_experts} | {batch_size} | {num_classes} | '
                  f'{name} | {memory} | {seconds * 1e3:.1f} |')
        old, new = peaks.values()
        if old is not None and new:
            ratios.append((num_experts, batch_size, num_classes, old / new))
    print()
    for num_experts, batch_size, num_classes, ratio in ratios:
        print(f'M={num_experts}, B={batch_size}, C={num_classes}: peak '
              f'memory pairwise / closed form = {ratio:.1f}x')
    if not ratios:
        print('peak memory: not measurable on this platform (needs CUDA '
              'or glibc\'s mallinfo2)')


if __name__ == '__main__':
    run_tool(main)
