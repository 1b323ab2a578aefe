"""Arrange the ILSVRC-2012 validation images into the class folders that
ImageNet-LT's test split names.

``ILSVRC2012_img_val.tar`` extracts to 50,000 images in one folder
(``ILSVRC2012_val_00000001.JPEG`` ...). ``ImageNet_LT_test.txt`` lists the
same images in class folders, ``val/n01440764/ILSVRC2012_val_00000293.JPEG
0``, relative to the ImageNet root (``data/imagenet`` in the configs). This
tool puts every listed image where the split file names it, taking the
folder of each image from the split file itself (no devkit needed)::

    mkdir -p data/imagenet/val
    tar -xf ILSVRC2012_img_val.tar -C data/imagenet/val
    python tools/dataset_converters/arrange_imagenet_val.py \\
        data/imagenet/val data/imagenet/ImageNet_LT_test.txt

It checks every image before it moves any: a listed image found neither in
the extracted folder nor at its place, or one file name listed under two
folders, stops it with nothing moved. Images already in place are left
alone, so a second run does nothing. ``--symlink`` links instead of
moving, leaving the extracted folder as it is.
"""
import argparse
import os
import os.path as osp
from collections import Counter

from shike_mm.datasets.split_file import SplitFileError, read_split_file
from shike_mm.utils.cli import run_tool

#: Classes of ImageNet-LT (the labels of its split files).
NUM_CLASSES = 1000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Arrange the extracted ILSVRC-2012 val images into the '
        'class folders of ImageNet_LT_test.txt')
    parser.add_argument(
        'val_dir',
        help='folder holding the extracted ILSVRC2012_val_*.JPEG images')
    parser.add_argument(
        'split_file',
        help='ImageNet_LT_test.txt (lines "val/<wnid>/<image> <label>")')
    parser.add_argument(
        '--data-root',
        help='the folder the split paths are relative to (default: the '
        'folder of the split file)')
    parser.add_argument(
        '--symlink',
        action='store_true',
        help='link the images into place instead of moving them')
    return parser.parse_args(argv)


def plan_moves(val_dir: str, split_file: str, data_root: str) -> tuple:
    """Where each listed image comes from and goes to, checked before
    anything moves.

    Args:
        val_dir (str): The folder of the extracted images.
        split_file (str): The test split file.
        data_root (str): The folder its paths are relative to.

    Returns:
        tuple[list[tuple[str, str]], int]: ``(source, target)`` pairs of the
        images still to arrange, and the number already in place.

    Raises:
        SplitFileError: On a malformed split file, an image listed under
            two folders, or listed images that are nowhere to be found.
    """
    entries = read_split_file(split_file, NUM_CLASSES)
    folders = {}
    for entry in entries:
        name = osp.basename(entry.rel_path)
        folder = osp.dirname(entry.rel_path)
        if folders.setdefault(name, (folder, entry.line_no))[0] != folder:
            raise SplitFileError(
                split_file, f'{name} is listed under {folder}/ and, at line '
                f'{folders[name][1]}, under {folders[name][0]}/',
                entry.line_no)
    moves, in_place, missing = [], 0, []
    for entry in {e.rel_path: e for e in entries}.values():
        target = osp.join(data_root, entry.rel_path)
        source = osp.join(val_dir, osp.basename(entry.rel_path))
        if osp.isfile(target):
            in_place += 1
        elif osp.isfile(source):
            moves.append((source, target))
        else:
            missing.append(entry)
    if missing:
        first = missing[0]
        raise SplitFileError(
            split_file,
            f'{len(missing)} listed images are neither in {val_dir} nor in '
            f'place under {data_root}, e.g. {osp.basename(first.rel_path)} '
            f'(line {first.line_no}); extract ILSVRC2012_img_val.tar into '
            f'{val_dir}. Nothing was moved.')
    return moves, in_place


def main(argv=None):
    args = parse_args(argv)
    data_root = args.data_root or osp.dirname(osp.abspath(args.split_file))
    if not osp.isdir(args.val_dir):
        raise ValueError(f'{args.val_dir} is not a folder')
    moves, in_place = plan_moves(args.val_dir, args.split_file, data_root)
    for source, target in moves:
        os.makedirs(osp.dirname(target), exist_ok=True)
        if args.symlink:
            os.symlink(osp.abspath(source), target)
        else:
            os.replace(source, target)
    folders = Counter(osp.dirname(target) for _, target in moves)
    print(f'{"Linked" if args.symlink else "Moved"} {len(moves)} images '
          f'into {len(folders)} class folders under {data_root}; '
          f'{in_place} were already in place.')
    return len(moves), in_place


if __name__ == '__main__':
    run_tool(main)
