"""Write fake datasets for smoke runs and benchmarks (no download).

Examples:
    python tools/misc/generate_fake_data.py data/smoke images
    python tools/misc/generate_fake_data.py data/cifar cifar100
"""
import argparse

from shike_mm.testing import write_fake_cifar, write_image_folder
from shike_mm.utils.cli import run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='output folder (the data root)')
    parser.add_argument(
        'kind',
        choices=['images', 'cifar10', 'cifar100'],
        help='images: an image folder with train.txt/val.txt; cifar*: '
        'pickles in the real CIFAR layout (random pixels)')
    parser.add_argument(
        '--train-per-class',
        type=int,
        nargs='+',
        default=None,
        help='training images per class; one number for every class or one '
        'per class (images default: 24 12 6 3)')
    parser.add_argument(
        '--test-per-class', type=int, default=None, help='test images/class')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.kind == 'images':
        train = args.train_per_class or [24, 12, 6, 3]
        test = [args.test_per_class or 4] * len(train)
        write_image_folder(
            args.root, {
                'train.txt': train,
                'val.txt': test
            }, seed=args.seed)
    else:
        kwargs = dict(seed=args.seed)
        if args.train_per_class:
            kwargs['train_per_class'] = args.train_per_class[0]
        if args.test_per_class:
            kwargs['test_per_class'] = args.test_per_class
        write_fake_cifar(args.root, args.kind, **kwargs)
    print(f'Wrote fake {args.kind} data under {args.root}')


if __name__ == '__main__':
    run_tool(main)
