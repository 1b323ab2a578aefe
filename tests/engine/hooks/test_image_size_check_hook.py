"""ImageSizeCheckHook: a batch with an image of another size fails naming
the image and its line in the split file."""
import shutil

import numpy as np
import torch
from mmengine.dataset import default_collate
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS
from PIL import Image

from shike_mm.engine.hooks import ImageSizeCheckHook
from shike_mm.engine.hooks.image_size_check_hook import CollateNamingImages

SMOKE_CONFIG = 'configs/smoke/tiny-resnet_fake-images.py'


def _with_odd_image(tiny_image_folder, tmp_path, split, line_no):
    """A copy of the image folder whose image on ``line_no`` of ``split``
    is 16 x 20 instead of 16 x 16; returns the root and the image."""
    root = tmp_path / 'images'
    shutil.copytree(tiny_image_folder, root)
    lines = (root / split).read_text().splitlines()
    image = root / lines[line_no - 1].split()[0]
    Image.fromarray(np.zeros((16, 20, 3), dtype=np.uint8)).save(image)
    return root, image


def test_train_tool_names_the_odd_image_and_its_line(tiny_image_folder,
                                                     tmp_path, run_tool):
    root, image = _with_odd_image(tiny_image_folder, tmp_path, 'train.txt', 7)
    proc = run_tool(
        'train.py',
        SMOKE_CONFIG,
        '--work-dir',
        tmp_path / 'run',
        '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        'train_cfg.max_epochs=1',
        check=False)
    assert proc.returncode != 0
    assert (f"train.py: error: train_dataloader: image '{image}' "
            f'({root}/train.txt, line 7) gives inputs of shape (3, 16, 20), '
            'but ') in proc.stderr
    assert ('images of its batch give (3, 16, 16): a batch stacks images '
            'of one size') in proc.stderr


def test_the_line_is_found_through_dataset_wrappers(tiny_image_folder,
                                                    tmp_path):
    root, image = _with_odd_image(tiny_image_folder, tmp_path, 'val.txt', 3)
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(
        dict(
            type='HeldOutSplit',
            part='train',
            fraction=0.0,
            dataset=dict(
                type='SplitFileDataset',
                ann_file='val.txt',
                data_root=str(root),
                num_classes=4,
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='PackInputs')
                ])))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=len(dataset), collate_fn=default_collate)
    ImageSizeCheckHook._wrap(loader, 'val_dataloader')
    assert isinstance(loader.collate_fn, CollateNamingImages)
    try:
        next(iter(loader))
    except ValueError as error:
        message = str(error)
    assert message == (
        f"val_dataloader: image '{image}' ({root}/val.txt, line 3) gives "
        f'inputs of shape (3, 16, 20), but {len(dataset) - 1} of the '
        f'{len(dataset)} images of its batch give (3, 16, 16): a batch '
        "stacks images of one size. Resize in the pipeline (e.g. "
        "dict(type='Resize', scale=...) or a crop) or replace the image")
