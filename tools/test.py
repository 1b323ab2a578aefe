"""Evaluate a checkpoint with an MMPretrain-style config."""
import argparse
import os.path as osp

import mmengine
import torch
from mmengine.config import ConfigDict

from shike_mm.datasets.transforms import CROP_ENSEMBLES, crop_ensemble_pipeline
from shike_mm.utils.cli import (add_cfg_options, add_launcher,
                                add_trust_checkpoint, built_runner,
                                load_config, run_tool, set_work_dir)
from shike_mm.utils.config import metric_configs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='folder for the logs')
    parser.add_argument(
        '--out',
        help='dump the predictions (or metrics) to this pickle: one dict per '
        'test image with gt_label, pred_label, pred_score and, for SHIKE '
        'heads, expert_scores (each expert\'s softmax, [experts, classes])')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        default='pred',
        help='what --out holds: every sample\'s prediction, or the metrics')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load the checkpoint even if its keys or shapes do not match '
        'the model (with a warning; unmatched weights keep their '
        'initialisation, so the result is not that of the checkpoint)')
    add_trust_checkpoint(parser, 'the checkpoint')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation: average the scores over the config\'s '
        'tta_pipeline, or, when the training pipeline flips images '
        'horizontally, over the image and its mirror')
    parser.add_argument(
        '--crop-ensemble',
        choices=sorted(CROP_ENSEMBLES),
        help='test-time ensemble of the five crops (corners and centre) of '
        'each image, or of them and their mirrors (ten), averaging the '
        'views\' logits (LIFT); overrides the config\'s '
        'crop_ensemble.views')
    parser.add_argument(
        '--crop-resize',
        type=int,
        help='short edge the image is resized to before the crops '
        '(default: the config\'s crop_ensemble.resize; LIFT: crop size + '
        '24)')
    parser.add_argument(
        '--amp', action='store_true', help='mixed-precision inference')
    parser.add_argument(
        '--show-dir',
        help='save images with their predictions into this folder (a '
        'relative path is under the work dir)')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='with --show-dir, draw every n-th test image')
    parser.add_argument(
        '--no-pin-memory', action='store_true', help='no pin_memory')
    add_cfg_options(parser)
    add_launcher(parser)
    return parser.parse_args(argv)


def add_test_time_augmentation(cfg):
    """Wrap the model in ``cfg.tta_model`` (by default
    :class:`AverageExpertScoreTTA`, which also averages the experts' scores)
    and test with ``cfg.tta_pipeline``. A config without one gets
    the image and its horizontal mirror, but only when its training
    pipeline flips horizontally: a mirrored digit is another shape."""
    pipeline = cfg.test_dataloader.dataset.pipeline
    if cfg.get('tta_pipeline') is None:
        train_pipeline = cfg.train_dataloader.dataset.get('pipeline', [])
        flips = any(
            str(t.get('type')).endswith('RandomFlip')
            and t.get('direction', 'horizontal') == 'horizontal'
            for t in train_pipeline)
        if not flips:
            raise ValueError(
                'The config has no tta_pipeline, and its training pipeline '
                'never flips images, so mirrored test images would be out '
                'of its distribution; define tta_pipeline (ending in '
                'TestTimeAug) to use --tta')
        cfg.tta_pipeline = pipeline[:-1] + [
            dict(
                type='TestTimeAug',
                transforms=[[
                    dict(type='RandomFlip', prob=1.),
                    dict(type='RandomFlip', prob=0.)
                ], [pipeline[-1]]])
        ]
    tta_model = cfg.get('tta_model') or dict(type='AverageExpertScoreTTA')
    cfg.model = ConfigDict(**tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def add_crop_ensemble(cfg, args) -> None:
    """Test on the crops of a five- or ten-crop ensemble of the config's
    test pipeline, averaging their logits (:class:`AverageLogitTTA`), when
    ``--crop-ensemble`` or the config's ``crop_ensemble.views`` asks for
    one.

    ``crop_ensemble = dict(views=None | 'five' | 'ten', resize=N)`` in a
    config is the default of ``--crop-ensemble`` and ``--crop-resize``.
    """
    settings = cfg.get('crop_ensemble') or {}
    views = args.crop_ensemble or settings.get('views')
    resize = args.crop_resize or settings.get('resize')
    if views is not None and args.tta:
        raise ValueError('--tta and the crop ensemble (--crop-ensemble or '
                         'crop_ensemble.views) both choose the test-time '
                         'views; use one')
    if views is None:
        if args.crop_resize is not None:
            raise ValueError('--crop-resize applies to a crop ensemble only '
                             '(--crop-ensemble)')
        return
    if resize is None:
        raise ValueError(
            'A crop ensemble needs the short edge to resize to before '
            'cropping: give --crop-resize, or crop_ensemble.resize in the '
            'config')
    cfg.tta_pipeline = crop_ensemble_pipeline(
        cfg.test_dataloader.dataset.pipeline, views, resize)
    cfg.tta_model = dict(type='AverageLogitTTA')
    add_test_time_augmentation(cfg)


def merge_args(cfg, args):
    """Fold the command-line arguments into the config."""
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    cfg.setdefault('default_hooks', ConfigDict())
    cfg.default_hooks.checkpoint_match = dict(
        type='CheckpointMatchHook', strict=not args.non_strict)
    if args.amp:
        cfg.setdefault('test_cfg', ConfigDict()).fp16 = True
    if args.show_dir is not None:
        cfg.default_hooks.visualization = dict(
            cfg.default_hooks.get('visualization',
                                  dict(type='VisualizationHook')),
            enable=True,
            out_dir=osp.join(cfg.work_dir, args.show_dir),
            interval=args.interval)
    if args.tta:
        add_test_time_augmentation(cfg)

    if cfg.get('test_dataloader', None) is not None:
        # Pinned memory only helps copies to an accelerator.
        loader = ConfigDict(
            pin_memory=torch.cuda.is_available() and not args.no_pin_memory,
            collate_fn=dict(type='default_collate'))
        loader.update(cfg.test_dataloader)
        loader.persistent_workers = False
        cfg.test_dataloader = loader

    if args.out is not None and args.out_item == 'pred':
        cfg.test_evaluator = metric_configs(cfg.test_evaluator) + [
            dict(type='DumpResults', out_file_path=args.out)
        ]

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # After the overrides, which may set crop_ensemble.
    add_crop_ensemble(cfg, args)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl file, got {args.out}')
    cfg = merge_args(load_config(args.config), args)
    with built_runner(cfg, args) as runner:
        metrics = runner.test()
    if args.out is not None and args.out_item == 'metrics':
        mmengine.dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    run_tool(main)
