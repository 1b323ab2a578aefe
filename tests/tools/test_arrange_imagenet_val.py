"""tools/dataset_converters/arrange_imagenet_val.py on a fake ILSVRC-2012
val folder: the images end up where ImageNet_LT_test.txt names them, and
ImageNetLT reads the result."""
import os

import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

from shike_mm.datasets.split_file import SplitFileError

TOOL = 'dataset_converters/arrange_imagenet_val.py'
# (val image, class folder, label), as ImageNet_LT_test.txt lists them
LISTED = [
    ('ILSVRC2012_val_00000293.JPEG', 'n01440764', 0),
    ('ILSVRC2012_val_00000236.JPEG', 'n01443537', 1),
    ('ILSVRC2012_val_00002138.JPEG', 'n01440764', 0),
]


@pytest.fixture
def fake_imagenet(tmp_path):
    """``root/val`` holds the extracted, flat val images (the content of
    each is its name); ``root/ImageNet_LT_test.txt`` lists them."""
    root = tmp_path / 'imagenet'
    (root / 'val').mkdir(parents=True)
    for name, _, _ in LISTED:
        (root / 'val' / name).write_text(name)
    split = root / 'ImageNet_LT_test.txt'
    split.write_text(''.join(f'val/{folder}/{name} {label}\n'
                             for name, folder, label in LISTED))
    return root, split


def _layout(root):
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _, names in os.walk(root) for name in names)


def test_images_move_into_the_listed_class_folders(fake_imagenet, load_tool):
    root, split = fake_imagenet
    tool = load_tool(TOOL)
    assert tool.main([str(root / 'val'), str(split)]) == (3, 0)
    assert _layout(root / 'val') == sorted(f'{folder}/{name}'
                                           for name, folder, _ in LISTED)
    for name, folder, _ in LISTED:
        assert (root / 'val' / folder / name).read_text() == name

    # ImageNetLT reads the arranged test split with every file checked.
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(
        dict(
            type='ImageNetLT',
            data_root=str(root),
            ann_file='ImageNet_LT_test.txt',
            num_classes=2,
            pipeline=[]))
    assert len(dataset) == 3
    assert dataset.get_gt_labels().tolist() == [0, 1, 0]

    # A second run finds everything in place and moves nothing.
    assert tool.main([str(root / 'val'), str(split)]) == (0, 3)


def test_symlink_leaves_the_extracted_folder_as_it_is(fake_imagenet, tmp_path,
                                                      load_tool):
    root, split = fake_imagenet
    extracted = tmp_path / 'extracted'
    (root / 'val').rename(extracted)
    load_tool(TOOL).main(
        [str(extracted),
         str(split), '--data-root',
         str(root), '--symlink'])
    assert sorted(os.listdir(extracted)) == sorted(n for n, _, _ in LISTED)
    target = root / 'val' / 'n01443537' / 'ILSVRC2012_val_00000236.JPEG'
    assert target.is_symlink()
    assert target.read_text() == 'ILSVRC2012_val_00000236.JPEG'


def test_a_missing_image_stops_before_anything_moves(fake_imagenet, run_tool):
    root, split = fake_imagenet
    (root / 'val' / 'ILSVRC2012_val_00002138.JPEG').unlink()
    proc = run_tool(TOOL, root / 'val', split, check=False)
    assert proc.returncode != 0
    assert 'arrange_imagenet_val.py: error:' in proc.stderr
    assert '1 listed images are neither in' in proc.stderr
    assert 'ILSVRC2012_val_00002138.JPEG (line 3)' in proc.stderr
    assert 'Nothing was moved' in proc.stderr
    assert sorted(os.listdir(root / 'val')) == [
        'ILSVRC2012_val_00000236.JPEG', 'ILSVRC2012_val_00000293.JPEG'
    ]


def test_an_image_listed_under_two_folders_is_refused(fake_imagenet,
                                                      load_tool):
    root, split = fake_imagenet
    with open(split, 'a') as f:
        f.write('val/n01443537/ILSVRC2012_val_00000293.JPEG 1\n')
    with pytest.raises(
            SplitFileError,
            match='line 4: ILSVRC2012_val_00000293'
            r'.JPEG is listed under val/n01443537/ and, at line 1, '
            'under val/n01440764/'):
        load_tool(TOOL).main([str(root / 'val'), str(split)])
    assert len(os.listdir(root / 'val')) == 3
