"""tools/dist_train.sh trains the ImageNet-LT ResNet-50 config with two CPU
processes (gloo) across the stage switch."""
import os
import os.path as osp
import re
import subprocess

from mmengine.config import Config

from shike_mm.testing import write_image_folder
from shike_mm.utils import find_config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM_CLASSES = 4
IMAGE_SIZE = 32


def _tiny_imagenet_lt_config(tmp_path):
    """The real config on generated ImageNet-LT split files: 4 classes,
    32x32 crops, 2 epochs with the switch at epoch 1.

    The run checks the mechanics, not learning: two SGD steps on batches of
    2 with 1x1 layer4 maps leave BN's running statistics far from the
    batch ones, so the eval-mode scores may be non-finite (the metric then
    warns and reports a NaN ECE).
    """
    data_root = str(tmp_path / 'imagenet')
    write_image_folder(
        data_root,
        {
            'ImageNet_LT_train.txt': [4, 2, 1, 1],  # 2 batches of 2 per rank
            'ImageNet_LT_val.txt': [2, 2, 2, 2],
            'ImageNet_LT_test.txt': [1, 1, 1, 1],
        },
        image_size=40)
    cfg = Config.fromfile(find_config('shike/shike_r50_imagenet-lt.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(batch_size=2, num_workers=0)
        cfg[loader].dataset.update(
            data_root=data_root, num_classes=NUM_CLASSES)
    train_pipeline = cfg.train_dataloader.dataset.pipeline
    assert train_pipeline[1].type == 'RandomResizedCrop'
    train_pipeline[1].scale = IMAGE_SIZE
    test_pipeline = cfg.val_dataloader.dataset.pipeline
    assert [t.type for t in test_pipeline[1:3]] == ['ResizeEdge', 'CenterCrop']
    test_pipeline[1].scale = IMAGE_SIZE + 4
    test_pipeline[2].crop_size = IMAGE_SIZE
    cfg.model.head.num_classes = NUM_CLASSES
    cfg.data_preprocessor.num_classes = NUM_CLASSES
    cfg.train_cfg.max_epochs = 2
    cfg.custom_hooks[0].switch_epoch = 1
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.default_hooks.logger.interval = 1
    # the checkpoints stay as configured, without the optimizer state
    cfg.default_hooks.checkpoint.save_optimizer = False
    path = tmp_path / 'shike_r50_tiny-imagenet-lt.py'
    cfg.dump(str(path))
    return str(path)


def _train_lines(log, epoch):
    return [
        line for line in log.splitlines()
        if f'Epoch(train) [{epoch}]' in line and 'loss' in line
    ]


def test_two_cpu_processes_train_imagenet_lt_across_the_switch(
        tmp_path, free_port):
    config = _tiny_imagenet_lt_config(tmp_path)
    work_dir = tmp_path / 'work_dir'
    env = dict(os.environ, PORT=str(free_port), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [
            'bash',
            osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), config, '2',
            '--work-dir',
            str(work_dir)
        ],
        cwd=tmp_path,  # MMEngine makes .dist_test here
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert 'Distributed training: True' in log
    assert re.search(r'GPU number: 2\b', log)  # MMEngine's world size

    stage1, stage2 = _train_lines(log, 1), _train_lines(log, 2)
    assert stage1 and stage2
    assert all('loss_dkt' in line and 'loss_mkd' in line for line in stage1)
    assert all('loss_bal' in line for line in stage2)
    assert not any('loss_dkt' in line for line in stage2)
    assert 'SHIKE stage 2 from epoch 1' in log
    assert 'lt/top1' in log

    saved = sorted(f for f in os.listdir(work_dir) if f.endswith('.pth'))
    assert 'epoch_2.pth' in saved
    assert any(f.startswith('best_lt_top1_epoch_') for f in saved), saved
    for name in saved:  # about 0.5 GB each
        os.remove(work_dir / name)
