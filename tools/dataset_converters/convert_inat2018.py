"""Convert iNaturalist 2018 json annotations to a ``relative/path label``
split file.

Examples:
    python tools/dataset_converters/convert_inat2018.py \
        data/inat2018/train2018.json data/inat2018/iNaturalist18_train.txt
    python tools/dataset_converters/convert_inat2018.py \
        data/inat2018/val2018.json data/inat2018/iNaturalist18_val.txt

Each image's ``file_name`` (e.g. ``train_val2018/Plantae/7477/<id>.jpg``,
relative to the folder the archives were extracted in) is written with its
``category_id`` as label, in the order of the json's ``images``.
"""
import argparse
import json
import os
import os.path as osp

from shike_mm.utils.cli import run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ann_json', help='train2018.json or val2018.json')
    parser.add_argument('out_txt', help='split file to write')
    return parser.parse_args(argv)


def split_lines(annotations: dict, source: str) -> list:
    """``file_name category_id`` lines, one per image.

    Args:
        annotations (dict): The json content, with ``images`` (``id``,
            ``file_name``), ``annotations`` (``image_id``, ``category_id``)
            and ``categories`` (``id``).
        source (str): The json file, named in errors.

    Returns:
        list[str]: The lines, in the order of ``images``.
    """
    for key in ('images', 'annotations', 'categories'):
        if not annotations.get(key):
            raise ValueError(f'{source}: no "{key}" (the test set has no '
                             'labels and cannot be converted)')
    category_ids = sorted(c['id'] for c in annotations['categories'])
    if category_ids != list(range(len(category_ids))):
        raise ValueError(f'{source}: category ids are not 0..'
                         f'{len(category_ids) - 1}; labels would be ambiguous')

    file_names = {}
    for image in annotations['images']:
        if image['id'] in file_names:
            raise ValueError(f'{source}: image id {image["id"]} is listed '
                             'twice')
        if len(image['file_name'].split()) != 1:
            raise ValueError(f'{source}: file name {image["file_name"]!r} '
                             'is empty or holds whitespace')
        file_names[image['id']] = image['file_name']

    labels = {}
    for ann in annotations['annotations']:
        image_id, label = ann['image_id'], ann['category_id']
        if image_id not in file_names:
            raise ValueError(f'{source}: annotation {ann.get("id")} refers to '
                             f'unknown image id {image_id}')
        if not 0 <= label < len(category_ids):
            raise ValueError(f'{source}: annotation {ann.get("id")} has '
                             f'unknown category id {label}')
        if image_id in labels:
            raise ValueError(f'{source}: image id {image_id} has more than '
                             'one annotation')
        labels[image_id] = label

    unlabelled = [i for i in file_names if i not in labels]
    if unlabelled:
        raise ValueError(f'{source}: {len(unlabelled)} images have no '
                         f'annotation, e.g. image id {unlabelled[0]}')
    return [f'{name} {labels[i]}' for i, name in file_names.items()]


def main(argv=None):
    args = parse_args(argv)
    with open(args.ann_json) as f:
        annotations = json.load(f)
    lines = split_lines(annotations, args.ann_json)
    folder = osp.dirname(args.out_txt)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(args.out_txt, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    present = len(set(line.rsplit(' ', 1)[1] for line in lines))
    print(f'{args.out_txt}: {len(lines)} images; {present} of '
          f'{len(annotations["categories"])} classes have images')


if __name__ == '__main__':
    run_tool(main)
