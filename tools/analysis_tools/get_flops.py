"""Print the FLOPs and parameters of one or more model configs.

FLOPs come from MMEngine's complexity analysis (``mmengine.analysis``),
which counts one multiply-add as one FLOP, as MMPretrain's model-zoo tables
do. The model runs one image of ``--shape`` through its whole inference
forward (backbone, neck and head); the shape defaults to each config's own
input size (its test pipeline's crop or resize, else its training crop:
32x32 for CIFAR, 224x224 for ImageNet). Parameters count every parameter of the
model, so a SHIKE model counts both classifier sets (stage 1 and stage 2).

Besides the totals, the table splits both figures into the shared trunk
(``backbone``), the experts' stages, the DKF aligners and the head.

Example::

    python tools/analysis_tools/get_flops.py \\
        configs/shike/shike_r50_imagenet-lt.py \\
        mmpretrain::resnet/resnet50_8xb32_in1k.py
"""
import argparse
import os.path as osp

import torch
from mmengine.config import Config

from shike_mm.apis.flops import PARTS, complexity, input_size
from shike_mm.utils.cli import add_cfg_options, load_config, run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='FLOPs and parameters of model configs')
    parser.add_argument(
        'configs',
        nargs='+',
        help='config files, shipped configs such as '
        'shike/shike_r50_imagenet-lt.py, or MMPretrain configs such as '
        'mmpretrain::resnet/resnet50_8xb32_in1k.py')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        help='input height and width (one number for a square input); '
        "default: each config's own input size")
    add_cfg_options(parser,
                    'override entries of every config, as key=value pairs')
    args = parser.parse_args(argv)
    if args.shape and len(args.shape) == 1:
        args.shape = args.shape * 2
    if args.shape and len(args.shape) != 2:
        parser.error('--shape takes one or two numbers')
    return args


def build_model(cfg: Config) -> torch.nn.Module:
    """The model of a config from :func:`load_config` (which set its
    default scope)."""
    from mmpretrain.registry import MODELS
    return MODELS.build(cfg.model)


def format_row(name: str, shape, figures: dict) -> str:
    flops, params = figures['flops'], figures['params']
    cells = [
        f'`{name}`', f'{shape[0]}x{shape[1]}', f'{flops["total"] / 1e9:.2f}',
        f'{params["total"] / 1e6:.2f}'
    ]
    for title, _ in PARTS:
        cells.append(f'{flops[title] / 1e9:.2f} / {params[title] / 1e6:.2f}')
    return '| ' + ' | '.join(cells) + ' |'


def main(argv=None):
    args = parse_args(argv)
    header = ['config', 'input', 'GFLOPs', 'params (M)'
              ] + [f'{title} GFLOPs / M params' for title, _ in PARTS]
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '---|' * len(header))
    for name in args.configs:
        cfg = load_config(name, args.cfg_options)
        shape = args.shape or input_size(cfg)
        figures = complexity(build_model(cfg), *shape)
        print(format_row(osp.basename(name), shape, figures), flush=True)


if __name__ == '__main__':
    run_tool(main)
