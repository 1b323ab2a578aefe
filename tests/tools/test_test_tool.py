"""tools/test.py evaluates a checkpoint and dumps predictions or metrics."""
import pickle

import pytest

SMOKE_CONFIG = 'configs/smoke/tiny-resnet_fake-images.py'


@pytest.fixture(scope='module')
def smoke_checkpoint(tmp_path_factory, tiny_image_folder, run_tool):
    work_dir = tmp_path_factory.mktemp('smoke_train')
    run_tool('train.py', SMOKE_CONFIG, '--work-dir', work_dir,
              '--cfg-options',
              f'train_dataloader.dataset.data_root={tiny_image_folder}',
              f'val_dataloader.dataset.data_root={tiny_image_folder}',
              'train_cfg.max_epochs=1')
    return work_dir / 'epoch_1.pth'


def _data_options(root):
    return ['--cfg-options', f'test_dataloader.dataset.data_root={root}']


def test_dumps_one_prediction_per_test_image(smoke_checkpoint, tmp_path,
                                             tiny_image_folder, run_tool):
    out = tmp_path / 'preds.pkl'
    proc = run_tool('test.py', SMOKE_CONFIG, smoke_checkpoint, '--work-dir',
                    tmp_path, '--out', out, *_data_options(tiny_image_folder))
    assert 'accuracy/top1' in proc.stdout + proc.stderr
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 16  # 4 classes x 4 val images
    assert preds[0]['pred_score'].shape == (4, )
    assert sorted(int(p['gt_label']) for p in preds) == sorted(
        [c for c in range(4) for _ in range(4)])


def test_dumps_metrics(smoke_checkpoint, tmp_path, tiny_image_folder,
                       run_tool):
    out = tmp_path / 'metrics.pkl'
    run_tool('test.py', SMOKE_CONFIG, smoke_checkpoint, '--work-dir',
             tmp_path, '--out', out, '--out-item', 'metrics',
             *_data_options(tiny_image_folder))
    with open(out, 'rb') as f:
        metrics = pickle.load(f)
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
