"""Each expert's accuracy in the Many/Medium/Few groups, from a checkpoint
(SHIKE's expert-preference analysis).

Prints the table and writes ``expert_preference.png`` and the per-class
table of the fused prediction into ``--out-dir``::

    python tools/analysis_tools/expert_preference.py \\
        configs/shike/shike_r32_digits-lt.py work_dirs/digits-lt/epoch_30.pth
"""
import argparse
import os.path as osp

from shike_mm.apis import (evaluate_checkpoint, format_expert_table,
                           plot_expert_preference)
from shike_mm.utils.cli import (add_cfg_options, add_device, load_config,
                                run_tool, set_cpu_threads, writable_folder)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Accuracy of each expert by shot group')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out-dir',
        help='folder for the plot and per-class table (default: '
        '"report" next to the checkpoint)')
    add_device(parser)
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out_dir = writable_folder(
        args.out_dir
        or osp.join(osp.dirname(osp.abspath(args.checkpoint)), 'report'))
    cfg = load_config(args.config, args.cfg_options)
    set_cpu_threads(cfg)
    result = evaluate_checkpoint(
        cfg,
        args.checkpoint,
        per_class_out=osp.join(out_dir, 'per_class.json'),
        device=args.device)
    print(format_expert_table(result))
    plot_expert_preference(result, osp.join(out_dir, 'expert_preference.png'))
    return result


if __name__ == '__main__':
    run_tool(main)
