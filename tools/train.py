"""Train a model with an MMPretrain-style config (shike_mm components)."""
import argparse
import logging
import os
import os.path as osp
import sys

# Run from a checkout without installing: make `shike_mm` importable.
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if osp.isdir(osp.join(REPO_ROOT, 'shike_mm')):
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from mmengine.config import Config, ConfigDict, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from shike_mm.utils import (configure_cpu_threads,  # noqa: E402
                            find_config, release_distributed,
                            setup_cpu_distributed)
from shike_mm.utils.checkpoint import TRUST_ENV  # noqa: E402
from shike_mm.utils.log_filters import \
    quiet_mmengine_internal_notices  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a classifier')
    parser.add_argument(
        'config', help='config file, or a path relative to the shipped '
        'configs such as shike/shike_r32_cifar100-lt-if100.py')
    parser.add_argument('--work-dir', help='folder for logs and checkpoints')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a path, from the latest '
        'checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (AmpOptimWrapper): fp16, or bf16 '
        'with --cfg-options optim_wrapper.dtype=bfloat16; without a GPU '
        'the run trains in fp32')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip evaluation during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the LR by the actual total batch size')
    parser.add_argument(
        '--no-pin-memory', action='store_true', help='no pin_memory')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='no persistent dataloader workers')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='fully unpickle the checkpoints this run loads (resume, '
        'load_from); only for files from a source you trust')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, as key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg, args):
    """Fold the command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True

    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(field, None) is None:
            continue
        # Pinned memory only helps copies to an accelerator; without one,
        # torch warns for every loader.
        loader = ConfigDict(
            pin_memory=torch.cuda.is_available(),
            persistent_workers=True,
            collate_fn=dict(type='default_collate'))
        loader.update(cfg[field])
        if args.no_pin_memory:
            loader.pin_memory = False
        if args.no_persistent_workers or loader.get('num_workers', 0) == 0:
            loader.persistent_workers = False
        cfg[field] = loader

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # After --cfg-options, which may ask for AMP or compilation too.
    amp_without_gpu(cfg)
    compile_without_compiler(cfg)
    return cfg


def amp_without_gpu(cfg):
    """Train in fp32 where MMEngine's AMP wrapper cannot run (no GPU),
    whatever its ``dtype`` (fp16 or bf16), with a warning."""
    wrapper = cfg.optim_wrapper
    if wrapper.get('type') not in ('AmpOptimWrapper',
                                   'mmengine.AmpOptimWrapper') or \
            torch.cuda.is_available():
        return
    dtype = wrapper.get('dtype') or 'float16'
    print_log(
        f'No GPU: AmpOptimWrapper ({dtype}) replaced by OptimWrapper (fp32); '
        "MMEngine's AMP wrapper needs a GPU.",
        logger='current',
        level=logging.WARNING)
    wrapper.type = 'OptimWrapper'
    for amp_only in ('loss_scale', 'dtype', 'use_fsdp'):
        wrapper.pop(amp_only, None)


def inductor_missing():
    """Why torch.compile's default backend (inductor) cannot generate code
    here, or None: it needs Triton on a GPU, a C++ compiler on the CPU."""
    if torch.cuda.is_available():
        from torch.utils._triton import has_triton
        return None if has_triton() else \
            'inductor needs Triton for CUDA, which is not installed'
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler
        get_cpp_compiler()
    except Exception as err:  # no compiler found
        lines = str(err).strip().splitlines()
        return 'inductor needs a C++ compiler for the CPU ' \
            f'({type(err).__name__}: {lines[0] if lines else ""})'
    return None


def compile_without_compiler(cfg):
    """Train uncompiled, with a warning naming the reason, where the config
    asks MMEngine to compile with inductor and inductor cannot run."""
    compile_cfg = cfg.get('compile')
    if not compile_cfg:
        return
    backend = compile_cfg.get('backend', 'inductor') if isinstance(
        compile_cfg, dict) else 'inductor'
    reason = inductor_missing() if backend == 'inductor' else None
    if reason:
        print_log(
            f'torch.compile skipped, training uncompiled: {reason}.',
            logger='current',
            level=logging.WARNING)
        cfg.compile = False


def main(argv=None):
    args = parse_args(argv)
    if args.trust_checkpoint:
        os.environ[TRUST_ENV] = '1'
    cfg = merge_args(Config.fromfile(find_config(args.config)), args)
    threads = configure_cpu_threads(cfg.get('cpu_threads'))
    setup_cpu_distributed(cfg, args.launcher)
    try:
        if 'runner_type' in cfg:
            runner = RUNNERS.build(cfg)
        else:
            runner = Runner.from_cfg(cfg)
        quiet_mmengine_internal_notices(runner.logger)
        if threads:
            runner.logger.info(threads)
        runner.train()
    finally:
        release_distributed()


if __name__ == '__main__':
    main()
