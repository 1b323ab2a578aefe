"""tools/dataset_converters/convert_inat2018.py on a tiny iNat 2018 json."""
import json

from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

import shike_mm  # noqa: F401  (registers the datasets)
from shike_mm.datasets import get_train_class_counts

TOOL = 'dataset_converters/convert_inat2018.py'


def _inat_json(path, annotations=None):
    """iNat 2018 layout: images (id, file_name), annotations (image_id,
    category_id), categories (id, name, ...)."""
    file_names = {
        10: 'train_val2018/Plantae/2/a.jpg',
        11: 'train_val2018/Aves/0/b.jpg',
        12: 'train_val2018/Aves/0/c.jpg',
        13: 'train_val2018/Fungi/1/d.jpg',
    }
    # (annotation id, image id, category id), not in image order.
    default_annotations = [(3, 13, 1), (0, 10, 2), (2, 12, 0), (1, 11, 0)]
    content = dict(
        info=dict(year=2018),
        images=[
            dict(id=i, file_name=name, width=8, height=8)
            for i, name in file_names.items()
        ],
        annotations=annotations or [
            dict(id=a, image_id=i, category_id=c)
            for a, i, c in default_annotations
        ],
        categories=[
            dict(id=c, name=name, supercategory=group)
            for c, (name,
                    group) in enumerate([('a',
                                          'Aves'), ('b',
                                                    'Fungi'), ('c',
                                                               'Plantae')])
        ])
    path.write_text(json.dumps(content))
    return str(path)


def test_converts_to_path_label_lines_in_image_order(tmp_path, run_tool):
    ann = _inat_json(tmp_path / 'train2018.json')
    out = tmp_path / 'splits' / 'iNaturalist18_train.txt'
    proc = run_tool(TOOL, ann, out)

    assert out.read_text().splitlines() == [
        'train_val2018/Plantae/2/a.jpg 2',
        'train_val2018/Aves/0/b.jpg 0',
        'train_val2018/Aves/0/c.jpg 0',
        'train_val2018/Fungi/1/d.jpg 1',
    ]
    assert '4 images; 3 of 3 classes have images' in proc.stdout

    # The output is a valid split for INaturalist2018.
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(
        dict(
            type='INaturalist2018',
            ann_file=str(out),
            num_classes=3,
            check_files=False))
    assert get_train_class_counts(dataset) == [2, 1, 1]


def test_unknown_image_is_an_error(tmp_path, run_tool):
    ann = _inat_json(
        tmp_path / 'train2018.json',
        annotations=[dict(id=7, image_id=99, category_id=0)])
    proc = run_tool(TOOL, ann, tmp_path / 'out.txt', check=False)
    assert proc.returncode != 0
    assert f'{ann}: annotation 7 refers to unknown image id 99' in \
        proc.stderr
    assert not (tmp_path / 'out.txt').exists()


def test_image_without_annotation_is_an_error(tmp_path, run_tool):
    ann = _inat_json(
        tmp_path / 'val2018.json',
        annotations=[dict(id=0, image_id=10, category_id=2)])
    proc = run_tool(TOOL, ann, tmp_path / 'out.txt', check=False)
    assert proc.returncode != 0
    assert '3 images have no annotation, e.g. image id 11' in proc.stderr
