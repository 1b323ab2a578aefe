"""Train a model with an MMPretrain-style config (shike_mm components)."""
import argparse
import logging
import os.path as osp
import sys

# From a checkout, run with its own shike_mm, installed or not.
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if osp.isdir(osp.join(REPO_ROOT, 'shike_mm')):
    sys.path.insert(0, REPO_ROOT)

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from shike_mm.utils import find_config
from shike_mm.utils.checkpoint_files import find_resume_checkpoint
from shike_mm.utils.cli import (add_cfg_options, add_launcher,
                                add_trust_checkpoint, built_runner,
                                set_work_dir)
from shike_mm.utils.interruption import stop_cleanly


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a classifier')
    parser.add_argument(
        'config',
        help='config file, or a path relative to the shipped '
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
    add_trust_checkpoint(parser,
                         'the checkpoints this run loads (resume, load_from)')
    add_cfg_options(parser)
    add_launcher(parser)
    return parser.parse_args(argv)


def merge_args(cfg, args):
    """Fold the command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)

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
        cfg.auto_scale_lr = dict(cfg.get('auto_scale_lr') or {}, enable=True)

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
    check_auto_scale_lr(cfg, args.config)
    amp_without_gpu(cfg)
    compile_without_compiler(cfg)
    return cfg


def check_auto_scale_lr(cfg, config):
    """Refuse to scale the LR without the batch it was set for."""
    auto_scale_lr = cfg.get('auto_scale_lr') or {}
    if auto_scale_lr.get(
            'enable') and not auto_scale_lr.get('base_batch_size'):
        raise ValueError(
            'auto_scale_lr is enabled (--auto-scale-lr), but '
            f'{config} sets no auto_scale_lr.base_batch_size, the total '
            'batch its learning rates are set for, so there is nothing to '
            'scale from. Add auto_scale_lr = '
            'dict(base_batch_size=N) to the config (or --cfg-options '
            'auto_scale_lr.base_batch_size=N), or train without '
            '--auto-scale-lr')


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


def whole_checkpoints(cfg):
    """Save with ``AtomicCheckpointHook`` where the config names MMEngine's
    hook as ``CheckpointHook`` (same arguments; it keeps the previous
    checkpoint until the next one is whole). A config that wants MMEngine's
    own behaviour names it ``mmengine.CheckpointHook``.

    Returns:
        list[tuple[int, str]]: The notes to log.
    """
    hook = cfg.get('default_hooks', {}).get('checkpoint')
    if not isinstance(hook, dict) or hook.get('type') != 'CheckpointHook':
        return []
    hook.type = 'AtomicCheckpointHook'
    return [(logging.INFO, 'default_hooks.checkpoint: CheckpointHook runs as '
             'AtomicCheckpointHook, which keeps the previous checkpoint until '
             'the next one is whole (type=mmengine.CheckpointHook keeps '
             "MMEngine's in-place saving)")]


def auto_resume(cfg):
    """For a resume without a path (``--resume``, or ``resume=True`` and no
    ``load_from``): resume from the newest whole checkpoint in the work dir,
    passing over an empty ``last_checkpoint``, a missing or truncated file,
    or train from scratch where there is none.

    Returns:
        list[tuple[int, str]]: The notes to log.
    """
    if not cfg.get('resume') or cfg.get('load_from'):
        return []
    found, skipped = find_resume_checkpoint(cfg.work_dir)
    if found is None:
        cfg.resume = False
        passed = f' (skipped {"; ".join(skipped)})' if skipped else ''
        return [(logging.WARNING if skipped else logging.INFO,
                 f'--resume: no checkpoint to resume in {cfg.work_dir}'
                 f'{passed}; training starts from scratch.')]
    cfg.load_from = found
    if skipped:
        return [(logging.WARNING,
                 f'--resume: skipped {"; ".join(skipped)}; resuming '
                 f'from {found}, the newest whole checkpoint.')]
    return [(logging.INFO, f'--resume: resuming from {found}.')]


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(find_config(args.config)), args)
    notes = whole_checkpoints(cfg) + auto_resume(cfg)
    with built_runner(cfg, args) as runner, stop_cleanly(runner):
        for level, note in notes:
            runner.logger.log(level, note)
        runner.train()


if __name__ == '__main__':
    main()
