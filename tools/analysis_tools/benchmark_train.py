"""Time the training step of one or two configs on generated data.

The step is the one MMEngine's Runner runs: the config's model (data
preprocessor, backbone, neck, head and losses) built with ``MODELS.build``,
its optim wrapper built with ``build_optim_wrapper`` (with the config's AMP
setting unless ``--amp`` says otherwise) and ``model.train_step(batch,
optim_wrapper)``. One batch of the config's batch size is made by running
the config's training pipeline on generated images and collating it; the
same batch is fed to every step, so the figures are the model's alone.
After ``--warmup`` steps, ``--iters`` steps are timed one by one and
grouped in windows of ``--window`` steps.

For every config the table gives:

- training images/s: median over the windows, with min and max;
- time per step (median), wall clock and the CPU time (user + system) of
  this process, which other jobs on a shared machine change less;
- peak memory during the timed steps: ``torch.cuda.max_memory_allocated``
  on a GPU, the peak resident set size of this process on the CPU;
- GFLOPs per image (``shike_mm.apis.flops``, inference forward,
  multiply-adds) and the FLOP-normalised throughput, images/s x GFLOPs;
- the data pipeline's images/s per worker: the training pipeline run on
  generated images (written as JPEG files for pipelines that load files)
  in one process with one thread, as a DataLoader worker runs it, and how
  many such workers keep up with the model;
- with ``--loader-workers N``, the images/s of a DataLoader with N
  persistent workers over the same images, collation and the transfer of
  the batches to the main process included.

With ``--baseline`` the same figures are measured for a second config in
the same run, and the ratio of FLOP-normalised throughputs (ours /
baseline) tells model cost apart from implementation efficiency.

A row that cannot run on the device (fp16 AMP on a CPU, ``--compile``
without a compiler) is skipped with the reason printed; nothing is
silently replaced.

Example::

    python tools/analysis_tools/benchmark_train.py \\
        shike/shike_r50_imagenet-lt.py \\
        --baseline mmpretrain::resnet/resnet50_8xb32_in1k.py \\
        --amp none --batch-size 8 --threads 1 --json bench.json
"""
import argparse
import contextlib
import json
import logging
import math
import os
import os.path as osp
import platform
import resource
import statistics
import tempfile
import time
from functools import partial
from typing import List, Optional

import cv2
import mmcv
import mmengine
import mmpretrain
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import FUNCTIONS, init_default_scope
from mmengine.runner.amp import autocast

from shike_mm.apis.flops import complexity
from shike_mm.engine.hooks.channels_last_hook import to_channels_last
from shike_mm.utils.cli import (add_cfg_options, add_device, load_config,
                                run_tool)
from shike_mm.utils.fast_paths import (first_line, inductor_missing,
                                       is_amp_wrapper, strip_amp_keys)

AMP_DTYPES = {'none': None, 'fp16': 'float16', 'bf16': 'bfloat16'}
# Raw size (height, width) of generated images for pipelines that load
# files: about the mean ImageNet image.
FILE_IMAGE_SIZE = (375, 500)
# Distinct generated images the pipeline cycles through.
NUM_IMAGES = 16


class CPUAutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward pass runs under bfloat16 CPU autocast.

    MMEngine's ``AmpOptimWrapper`` refuses to run without a GPU. This does
    what it does with ``dtype='bfloat16'`` (autocast around the forward
    pass, see ``AmpOptimWrapper.optim_context``) without its loss scaler,
    which bfloat16 does not need.
    """

    @contextlib.contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), autocast(
                device_type='cpu', dtype=torch.bfloat16):
            yield


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Time the training step of configs on generated data')
    parser.add_argument(
        'config',
        help='config file, a shipped config such as '
        'shike/shike_r32_cifar100-lt-if100.py, or an MMPretrain config such '
        'as mmpretrain::resnet/resnet50_8xb32_in1k.py')
    parser.add_argument(
        '--baseline', help='a second config, measured the same way')
    parser.add_argument(
        '--amp',
        choices=list(AMP_DTYPES),
        help='mixed precision of the step; defaults to each config\'s own '
        '(AmpOptimWrapper: fp16 unless its dtype says otherwise)')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='model weights and inputs in channels-last memory format')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the train step, as the Runner does for '
        'compile=True (compilation happens in the warm-up steps)')
    parser.add_argument(
        '--compile-backend',
        default='inductor',
        help='torch.compile backend with --compile, as the Runner\'s '
        'compile=dict(backend=...) (default: inductor)')
    parser.add_argument(
        '--batch-size',
        type=int,
        help='batch size of every config (default: each config\'s own)')
    parser.add_argument('--iters', type=int, default=20, help='timed steps')
    parser.add_argument(
        '--warmup',
        type=int,
        default=5,
        help='untimed steps first (with --compile, leave enough for the '
        'compilation)')
    parser.add_argument(
        '--window',
        type=int,
        default=1,
        help='timed steps per window of the images/s statistics')
    parser.add_argument(
        '--pipeline-iters',
        type=int,
        default=100,
        help='images timed through the data pipeline (0 skips it)')
    parser.add_argument(
        '--loader-workers',
        type=int,
        default=0,
        help='also time a DataLoader with this many persistent workers '
        'over the generated images: pipeline, collation and the transfer '
        'to this process (0 skips it)')
    parser.add_argument(
        '--loader-batches',
        type=int,
        default=20,
        help='batches timed with --loader-workers')
    add_device(parser, prefer_gpu=True)
    parser.add_argument(
        '--threads',
        type=int,
        help='torch threads of the training step (default: torch\'s '
        'default, one per physical core)')
    parser.add_argument(
        '--json', help='also write the results to this JSON file')
    add_cfg_options(
        parser, 'override entries of CONFIG (not the baseline), as '
        'key=value pairs')
    parser.add_argument(
        '--baseline-cfg-options',
        nargs='+',
        action=DictAction,
        help='override entries of the baseline config, as key=value pairs')
    args = parser.parse_args(argv)
    for name in ('iters', 'window', 'batch_size', 'threads'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be at least 1')
    if min(args.warmup, args.pipeline_iters, args.loader_workers) < 0:
        parser.error('--warmup, --pipeline-iters and --loader-workers '
                     'cannot be negative')
    if args.loader_batches < 1:
        parser.error('--loader-batches must be at least 1')
    if args.iters < args.window:
        parser.error('--iters must be at least --window')
    if args.baseline_cfg_options and not args.baseline:
        parser.error('--baseline-cfg-options needs --baseline')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error(f'--device {args.device}: no CUDA GPU is available')
    return args


def environment(device: torch.device) -> dict:
    """Machine, library versions and threads the figures were taken on."""
    cpu = platform.processor() or platform.machine()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            names = [
                line.split(':', 1)[1].strip() for line in f
                if line.startswith('model name')
            ]
        cpu = names[0] if names else cpu
    usable = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else os.cpu_count()
    return dict(
        device=str(device),
        gpu=torch.cuda.get_device_name(device)
        if device.type == 'cuda' else None,
        cpu=cpu,
        cpu_cores=os.cpu_count(),
        usable_cores=usable,
        platform=platform.platform(),
        python=platform.python_version(),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        mmengine=mmengine.__version__,
        mmcv=mmcv.__version__,
        mmpretrain=mmpretrain.__version__,
        torch_threads=torch.get_num_threads())


def config_amp(cfg: Config) -> str:
    """The AMP setting of ``cfg.optim_wrapper``: ``'none'``, ``'fp16'`` or
    ``'bf16'``."""
    optim_wrapper = cfg.optim_wrapper
    if not is_amp_wrapper(optim_wrapper):
        return 'none'
    dtype = str(optim_wrapper.get('dtype') or 'float16')
    return 'bf16' if 'bfloat16' in dtype else 'fp16'


def unavailable(device: torch.device, amp: str,
                compile_backend: Optional[str]) -> Optional[str]:
    """Why the requested step cannot run on ``device``, or None."""
    if device.type == 'cpu' and amp == 'fp16':
        return ('fp16 AMP needs a CUDA GPU: MMEngine\'s AmpOptimWrapper '
                'refuses the CPU and CPU autocast supports bfloat16 only '
                '(tools/train.py trains such a config in fp32 on the CPU; '
                'measure that with --amp none, or try --amp bf16)')
    if device.type == 'cuda' and amp == 'bf16' and \
            not torch.cuda.is_bf16_supported():
        return f'bf16 AMP: {torch.cuda.get_device_name(device)} does not ' \
            'support bfloat16'
    missing = inductor_missing(device.type) \
        if compile_backend == 'inductor' else None
    return f'torch.compile needs {missing}' if missing else None


def optim_wrapper_cfg(cfg: Config, amp: str, device: torch.device) -> dict:
    """``cfg.optim_wrapper`` set to the AMP setting ``amp``."""
    wrapper = ConfigDict(cfg.optim_wrapper)
    if amp == 'none':
        wrapper.type = 'OptimWrapper'
        strip_amp_keys(wrapper)
    elif device.type == 'cpu':  # bf16, see CPUAutocastOptimWrapper
        wrapper.type = CPUAutocastOptimWrapper
        strip_amp_keys(wrapper)
    else:
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')
        wrapper.dtype = AMP_DTYPES[amp]
    return wrapper


def build_model(cfg: Config) -> torch.nn.Module:
    """The model as the Runner builds it, on the CPU, in train mode."""
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmpretrain.registry import MODELS
    model_cfg = ConfigDict(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model.train()


def generated_image(rng: np.random.Generator, height: int,
                    width: int) -> np.ndarray:
    """A smooth random ``height x width x 3`` uint8 image with some
    noise, closer to a photograph (and to its JPEG decoding cost) than
    white noise."""
    coarse = rng.uniform(0, 255, size=(8, 8, 3)).astype(np.float32)
    image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    image += rng.normal(0, 8, size=image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _loads_files(pipeline_cfg: List[dict]) -> bool:
    return any('LoadImageFromFile' in str(t.get('type')) for t in pipeline_cfg)


def _in_memory_size(pipeline_cfg: List[dict]) -> tuple:
    """Raw image size of a pipeline that takes arrays (CIFAR and the like):
    the size its first crop or resize produces."""
    for transform in pipeline_cfg:
        for key in ('crop_size', 'scale'):
            size = transform.get(key)
            if isinstance(size, int):
                return size, size
            if isinstance(size, (tuple, list)) and len(size) == 2:
                return tuple(size)
    raise ValueError(
        'Cannot tell the image size of a training pipeline without '
        'LoadImageFromFile nor a crop or resize')


def pipeline_samples(cfg: Config, folder: str, num_classes: int) -> list:
    """Inputs of the training pipeline: ``NUM_IMAGES`` generated images as
    JPEG files (pipelines that load files) or arrays, with labels."""
    pipeline_cfg = cfg.train_dataloader.dataset.pipeline
    rng = np.random.default_rng(0)
    samples = []
    for index in range(NUM_IMAGES):
        label = int(rng.integers(num_classes))
        if _loads_files(pipeline_cfg):
            image = generated_image(rng, *FILE_IMAGE_SIZE)
            path = osp.join(folder, f'{index}.jpg')
            mmcv.imwrite(image, path)
            samples.append(dict(img_path=path, gt_label=label))
        else:
            image = generated_image(rng, *_in_memory_size(pipeline_cfg))
            samples.append(
                dict(
                    img=image,
                    gt_label=label,
                    img_shape=image.shape[:2],
                    ori_shape=image.shape[:2]))
    return samples


@contextlib.contextmanager
def _single_thread():
    """One torch thread and no OpenCV threads, as in a DataLoader worker
    under MMEngine's default ``env_cfg``."""
    torch_threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv2_threads)


def pipeline_speed(pipeline: Compose, samples: list, iters: int) -> float:
    """Images/s of ``pipeline`` in one single-threaded process."""
    with _single_thread():
        for sample in samples[:2]:  # warm-up
            pipeline(dict(sample))
        start = time.perf_counter()
        for index in range(iters):
            pipeline(dict(samples[index % len(samples)]))
        return iters / (time.perf_counter() - start)


def collate_function(cfg: Config):
    """The config's ``collate_fn``; without one, ``default_collate``, as
    ``tools/train.py`` sets."""
    collate_cfg = dict(
        cfg.train_dataloader.get('collate_fn', dict(type='default_collate')))
    collate_fn = collate_cfg.pop('type')
    if isinstance(collate_fn, str):
        collate_fn = FUNCTIONS.get(collate_fn)
    return partial(collate_fn, **collate_cfg)


def make_batch(cfg: Config, pipeline: Compose, samples: list, batch_size: int):
    """One batch of ``batch_size`` pipeline outputs, collated."""
    items = [
        pipeline(dict(samples[index % len(samples)]))
        for index in range(batch_size)
    ]
    return collate_function(cfg)(items)


class GeneratedDataset(torch.utils.data.Dataset):
    """``length`` items: the generated samples, in turn, through the
    training pipeline."""

    def __init__(self, pipeline: Compose, samples: list, length: int):
        self.pipeline = pipeline
        self.samples = samples
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return self.pipeline(dict(self.samples[index % len(self.samples)]))


def _no_opencv_threads(worker_id: int) -> None:
    cv2.setNumThreads(0)  # torch already runs one thread per worker


def loader_speed(cfg: Config, pipeline: Compose, samples: list,
                 batch_size: int, workers: int, batches: int,
                 device: torch.device) -> float:
    """Images/s of a DataLoader with ``workers`` persistent workers (one
    thread each), the config's collate function and, on a GPU, pinned
    memory, once every worker has delivered its first batch."""
    dataset = GeneratedDataset(pipeline, samples,
                               (workers + batches) * batch_size)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        persistent_workers=True,
        pin_memory=device.type == 'cuda',
        collate_fn=collate_function(cfg),
        worker_init_fn=_no_opencv_threads,
        drop_last=True)
    batch_iter = iter(loader)
    for _ in range(workers):
        next(batch_iter)
    start = time.perf_counter()
    for _ in range(batches):
        next(batch_iter)
    return batches * batch_size / (time.perf_counter() - start)


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _reset_peak_memory(device: torch.device) -> str:
    """Start a new peak-memory measurement; returns how it is measured."""
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
        return 'max_memory_allocated'
    try:  # Linux: "5" resets the peak RSS (VmHWM) of this process
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return 'peak RSS'
    except OSError:
        return 'peak RSS since the process started'


def _peak_memory(device: torch.device) -> int:
    """Peak memory in bytes since :func:`_reset_peak_memory`."""
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device)
    if osp.isfile('/proc/self/status'):
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def time_steps(model, batch, optim_wrapper, device: torch.device, warmup: int,
               iters: int) -> dict:
    """Run ``warmup`` then ``iters`` train steps.

    Returns:
        dict: ``durations`` of the timed steps in seconds, the CPU time
        (user + system) of this process in each, ``cpu_durations``, their
        ``peak_memory`` in bytes, ``memory_kind`` (how the peak was
        measured), the ``loss`` of the last step and the seconds of the
        whole warm-up, ``warmup_s``.
    """
    optim_wrapper.initialize_count_status(model, 0, warmup + iters)
    start = time.perf_counter()
    for _ in range(warmup):
        model.train_step(batch, optim_wrapper)
    _synchronize(device)
    warmup_s = time.perf_counter() - start
    memory_kind = _reset_peak_memory(device)
    durations, cpu_durations = [], []
    for _ in range(iters):
        start, cpu_start = time.perf_counter(), time.process_time()
        log_vars = model.train_step(batch, optim_wrapper)
        _synchronize(device)
        durations.append(time.perf_counter() - start)
        cpu_durations.append(time.process_time() - cpu_start)
    return dict(
        durations=durations,
        cpu_durations=cpu_durations,
        peak_memory=_peak_memory(device),
        memory_kind=memory_kind,
        loss=log_vars['loss'].item(),
        warmup_s=warmup_s)


def benchmark(name: str,
              args,
              device: torch.device,
              cfg_options: Optional[dict] = None) -> dict:
    """Measure one config; returns its row (``skipped`` holds the reason
    when the step cannot run on ``device``)."""
    cfg = load_config(name, cfg_options)
    amp = args.amp or config_amp(cfg)
    batch_size = args.batch_size or cfg.train_dataloader.batch_size
    row = dict(
        config=name,
        amp=amp,
        channels_last=args.channels_last,
        compile=args.compile and args.compile_backend,
        batch_size=batch_size,
        skipped=unavailable(device, amp, args.compile
                            and args.compile_backend),
        notes=[])
    if row['skipped']:
        return row
    if device.type == 'cpu' and amp == 'bf16':
        row['notes'].append(
            'bf16 on the CPU: MMEngine\'s AmpOptimWrapper needs a GPU, so '
            'the forward pass runs under torch.autocast("cpu", bfloat16) in '
            'an OptimWrapper, without loss scaling')

    torch.manual_seed(0)
    np.random.seed(0)
    model = build_model(cfg)
    num_classes = model.data_preprocessor.num_classes or \
        cfg.model.head.num_classes
    if hasattr(model.head, 'set_class_counts'):
        # A loss adjusted by the class prior (logit adjustment, Balanced
        # Softmax) costs the same for any prior: uniform counts stand in
        # for ClassCountsHook's.
        model.head.set_class_counts([1] * num_classes)
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    with tempfile.TemporaryDirectory() as folder:
        samples = pipeline_samples(cfg, folder, num_classes)
        if args.pipeline_iters:
            row['pipeline_images_per_s_per_worker'] = pipeline_speed(
                pipeline, samples, args.pipeline_iters)
        if args.loader_workers:
            row['loader_images_per_s'] = loader_speed(cfg, pipeline, samples,
                                                      batch_size,
                                                      args.loader_workers,
                                                      args.loader_batches,
                                                      device)
        batch = make_batch(cfg, pipeline, samples, batch_size)
        height, width = pipeline(dict(samples[0]))['inputs'].shape[-2:]
    row['input'] = [int(height), int(width)]
    row['gflops_per_image'] = complexity(model, height,
                                         width)['flops']['total'] / 1e9
    model.train()

    model.to(device)
    if args.channels_last:  # as ChannelsLastHook in a one-process run
        to_channels_last(model)
    optim_wrapper = build_optim_wrapper(model,
                                        optim_wrapper_cfg(cfg, amp, device))
    if args.compile:  # as Runner._maybe_compile('train_step')
        model.train_step = torch.compile(
            model.train_step, backend=args.compile_backend)
    try:
        timed = time_steps(model, batch, optim_wrapper, device, args.warmup,
                           args.iters)
    except Exception as err:
        if not args.compile:
            raise
        row['skipped'] = f'torch.compile failed: {first_line(err)}'
        return row

    durations = timed['durations']
    windows = [
        sum(durations[i:i + args.window])
        for i in range(0,
                       len(durations) - args.window + 1, args.window)
    ]
    images_per_s = [batch_size * args.window / t for t in windows]
    row.update(
        images_per_s=statistics.median(images_per_s),
        images_per_s_min=min(images_per_s),
        images_per_s_max=max(images_per_s),
        step_ms=statistics.median(durations) * 1e3,
        cpu_step_ms=statistics.median(timed['cpu_durations']) * 1e3,
        peak_memory_bytes=timed['peak_memory'],
        peak_memory_kind=timed['memory_kind'],
        last_loss=timed['loss'],
        warmup_s=timed['warmup_s'])
    if args.compile:
        row['notes'].append(
            f'{args.warmup} warm-up steps, compilation included: '
            f'{timed["warmup_s"]:.0f} s')
    row['gflop_per_s'] = row['images_per_s'] * row['gflops_per_image']
    if 'pipeline_images_per_s_per_worker' in row:
        row['workers_to_saturate'] = math.ceil(
            row['images_per_s'] / row['pipeline_images_per_s_per_worker'])
    return row


COLUMNS = ('config', 'AMP', 'channels-last', 'compile', 'batch', 'input',
           'images/s median (min-max)', 'ms/step', 'CPU ms/step',
           'peak memory (MiB)', 'GFLOPs/image', 'images/s x GFLOPs',
           'pipeline images/s/worker', 'workers to saturate',
           'DataLoader images/s')


def _figure(value: float) -> str:
    return f'{value:.1f}' if value >= 10 else f'{value:.2f}'


def format_row(row: dict) -> str:
    name = f'`{osp.basename(row["config"])}`'
    cells = [
        name, row['amp'], 'yes' if row['channels_last'] else 'no',
        row['compile'] or 'no',
        str(row['batch_size'])
    ]
    if row['skipped']:
        cells += ['skipped (see below)'] + ['-'] * (
            len(COLUMNS) - len(cells) - 1)
    else:
        pipeline = row.get('pipeline_images_per_s_per_worker')
        cells += [
            f'{row["input"][0]}x{row["input"][1]}',
            f'{_figure(row["images_per_s"])} '
            f'({_figure(row["images_per_s_min"])}-'
            f'{_figure(row["images_per_s_max"])})',
            f'{row["step_ms"]:.0f}',
            f'{row["cpu_step_ms"]:.0f}',
            f'{row["peak_memory_bytes"] / 2**20:.0f}',
            f'{row["gflops_per_image"]:.2f}',
            _figure(row['gflop_per_s']),
            '-' if pipeline is None else f'{pipeline:.0f}',
            str(row.get('workers_to_saturate', '-')),
            _figure(row['loader_images_per_s'])
            if 'loader_images_per_s' in row else '-',
        ]
    return '| ' + ' | '.join(cells) + ' |'


def flop_normalised_ratio(rows: List[dict]) -> Optional[float]:
    """images/s x GFLOPs of the config over the baseline's, or None."""
    if len(rows) < 2 or any(row['skipped'] for row in rows[:2]):
        return None
    return rows[0]['gflop_per_s'] / rows[1]['gflop_per_s']


def print_environment(args, env: dict) -> None:
    """Print what the figures were measured on and how."""
    print(f'device: {env["device"]}' +
          (f' ({env["gpu"]})' if env['gpu'] else '') +
          f'; CPU: {env["cpu"]}, {env["usable_cores"]} of '
          f'{env["cpu_cores"]} cores usable')
    print(f'torch {env["torch"]} (CUDA {env["cuda"]}), mmengine '
          f'{env["mmengine"]}, mmcv {env["mmcv"]}, mmpretrain '
          f'{env["mmpretrain"]}, Python {env["python"]}, '
          f'{env["platform"]}')
    print(
        f'torch threads: {env["torch_threads"]}; warm-up {args.warmup} '
        f'steps, {args.iters} timed steps in windows of {args.window}; '
        'data pipeline: 1 process, 1 thread' +
        (f'; DataLoader: {args.loader_workers} persistent workers, '
         f'{args.loader_batches} timed batches'
         if args.loader_workers else ''),
        flush=True)


def report(args, env: dict, rows: List[dict]) -> None:
    """Print the table and the notes; write the JSON."""
    print()
    print('| ' + ' | '.join(COLUMNS) + ' |')
    print('|' + '---|' * len(COLUMNS))
    for row in rows:
        print(format_row(row))
    print()
    memory_kind = next(
        (row['peak_memory_kind'] for row in rows if not row['skipped']), None)
    if memory_kind:
        print(f'peak memory: {memory_kind} during the timed steps')
    for row in rows:
        for note in row['notes']:
            print(f'note ({osp.basename(row["config"])}): {note}')
        if row['skipped']:
            print(f'skipped {row["config"]}: {row["skipped"]}')
    ratio = flop_normalised_ratio(rows)
    if args.baseline:
        print('FLOP-normalised throughput (images/s x GFLOPs), ours / '
              'baseline: ' +
              ('n/a, a row was skipped' if ratio is None else f'{ratio:.2f}'))
    if args.json:
        options = {
            key: getattr(args, key)
            for key in ('amp', 'channels_last', 'compile', 'compile_backend',
                        'batch_size', 'warmup', 'iters', 'window',
                        'pipeline_iters', 'loader_workers', 'loader_batches')
        }
        with open(args.json, 'w') as f:
            json.dump(
                dict(
                    environment=env,
                    options=options,
                    rows=rows,
                    flop_normalised_ratio=ratio),
                f,
                indent=2)


def main(argv=None):
    args = parse_args(argv)
    logger = MMLogger.get_current_instance()
    log_level, threads = logger.level, torch.get_num_threads()
    # Keep the weight-initialisation report out of the output.
    logger.setLevel(logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        device = torch.device(args.device)
        env = environment(device)
        print_environment(args, env)
        rows = [benchmark(args.config, args, device, args.cfg_options)]
        if args.baseline:
            rows.append(
                benchmark(args.baseline, args, device,
                          args.baseline_cfg_options))
        report(args, env, rows)
    finally:
        logger.setLevel(log_level)
        torch.set_num_threads(threads)


if __name__ == '__main__':
    run_tool(main)
