"""Plot per-class accuracy against training frequency, with the
Many/Medium/Few bands, from the per-class tables LongTailMetric writes.

Write a table while testing with ``per_class_out``::

    python tools/test.py CONFIG CHECKPOINT \\
        --cfg-options test_evaluator.per_class_out=work_dirs/per_class.json
    python tools/analysis_tools/plot_class_accuracy.py \\
        work_dirs/per_class.json --out work_dirs/class_accuracy.png

Several tables (of the same classes) are drawn side by side.
"""
import argparse
import os.path as osp

from shike_mm.apis import load_per_class, plot_class_accuracy
from shike_mm.utils.cli import run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Per-class accuracy vs training frequency')
    parser.add_argument(
        'tables', nargs='+', help='per-class JSON files of LongTailMetric')
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument(
        '--names',
        nargs='+',
        help='one label per table (default: the file names)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    names = args.names or [
        osp.splitext(osp.basename(t))[0] for t in args.tables
    ]
    if len(names) != len(args.tables):
        raise ValueError(f'{len(names)} --names for {len(args.tables)} '
                         'tables')
    if len(set(names)) != len(names):
        raise ValueError(f'The table labels must differ, got {names}; set '
                         '--names')
    plot_class_accuracy(
        {
            name: load_per_class(t)
            for name, t in zip(names, args.tables)
        }, args.out)


if __name__ == '__main__':
    run_tool(main)
