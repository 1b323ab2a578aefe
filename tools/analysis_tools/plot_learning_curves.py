"""Plot training losses, learning rate and validation accuracy from the
MMEngine log of a training run (``<work_dir>/<timestamp>/vis_data/
scalars.json``, read with MMPretrain's ``load_json_log``)::

    python tools/analysis_tools/plot_learning_curves.py work_dirs/digits-lt

For other keys or several runs, MMPretrain's own
``tools/analysis_tools/analyze_logs.py plot_curve`` reads the same file.
"""
import argparse
import os.path as osp
import sys

# Run from a checkout without installing: make `shike_mm` importable.
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if osp.isdir(osp.join(REPO_ROOT, 'shike_mm')):
    sys.path.insert(0, REPO_ROOT)

from shike_mm.utils.analysis import (
    find_scalars_json,  # noqa: E402
    plot_learning_curves)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Learning curves')
    parser.add_argument(
        'log',
        help='a scalars.json, or a work dir (its newest run is plotted)')
    parser.add_argument(
        '--out',
        help='PNG to write (default: learning_curves.png in the work dir, '
        'or next to the scalars.json)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if osp.isdir(args.log):
        scalars = find_scalars_json(args.log)
        out = args.out or osp.join(args.log, 'learning_curves.png')
    elif osp.isfile(args.log):
        scalars = args.log
        out = args.out or osp.join(
            osp.dirname(osp.abspath(args.log)), 'learning_curves.png')
    else:
        raise FileNotFoundError(f'{args.log} is neither a file nor a folder')
    plot_learning_curves(scalars, out)


if __name__ == '__main__':
    main()
