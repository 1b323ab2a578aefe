"""Plot training losses, learning rate and validation accuracy from the
MMEngine logs of one or more training runs (``<work_dir>/<timestamp>/
vis_data/scalars.json``, read with MMPretrain's ``load_json_log``), the
runs overlaid::

    python tools/analysis_tools/plot_learning_curves.py \
        work_dirs/digits-lt work_dirs/digits-lt-ce --out curves.png

For other keys, MMPretrain's own ``tools/analysis_tools/analyze_logs.py
plot_curve`` reads the same files.
"""
import argparse
import os.path as osp

from shike_mm.apis import find_scalars_json, plot_learning_curves
from shike_mm.utils.cli import run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Learning curves')
    parser.add_argument(
        'logs',
        nargs='+',
        help='scalars.json files or work dirs (the newest run of each); '
        'several are overlaid, named after their folders')
    parser.add_argument(
        '--out',
        help='PNG to write (default: learning_curves.png in the first work '
        'dir, or next to the first scalars.json)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    runs = {}
    for log in args.logs:
        if osp.isdir(log):
            folder, scalars = log, find_scalars_json(log)
        elif osp.isfile(log):
            folder, scalars = osp.dirname(osp.abspath(log)), log
        else:
            raise FileNotFoundError(f'{log} is neither a file nor a folder')
        name = osp.basename(osp.normpath(folder))
        if name in runs:
            raise ValueError(f'Two runs are called {name!r}; give their work '
                             'dirs, which have different names')
        runs[name] = scalars
    first = args.logs[0]
    out = args.out or osp.join(
        first if osp.isdir(first) else osp.dirname(osp.abspath(first)),
        'learning_curves.png')
    plot_learning_curves(runs, out)


if __name__ == '__main__':
    run_tool(main)
