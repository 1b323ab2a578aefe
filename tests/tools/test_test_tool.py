"""tools/test.py evaluates a checkpoint and dumps predictions or metrics."""
import pickle

import pytest
import torch

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


@pytest.fixture(scope='module')
def mismatched_checkpoint(smoke_checkpoint, tmp_path_factory):
    """The smoke checkpoint with a key dropped, one added and one
    reshaped: a checkpoint of another model."""
    checkpoint = torch.load(smoke_checkpoint, weights_only=False)
    state = checkpoint['state_dict']
    del state['head.fc.bias']
    state['head.extra.weight'] = torch.zeros(2)
    state['head.fc.weight'] = torch.zeros(7, state['head.fc.weight'].shape[1])
    path = tmp_path_factory.mktemp('mismatch') / 'other_model.pth'
    torch.save(checkpoint, path)
    return path


def test_a_checkpoint_of_another_model_is_refused(mismatched_checkpoint,
                                                  tmp_path,
                                                  tiny_image_folder,
                                                  run_tool):
    proc = run_tool(
        'test.py',
        SMOKE_CONFIG,
        mismatched_checkpoint,
        '--work-dir',
        tmp_path,
        *_data_options(tiny_image_folder),
        check=False)
    assert proc.returncode != 0
    assert (f'CheckpointMismatchError: Checkpoint {mismatched_checkpoint} '
            'does not match the model: 1 missing (head.fc.bias); 1 '
            'unexpected (head.extra.weight); 1 shape mismatch '
            '(head.fc.weight: checkpoint (7, 64) vs model (4, 64))'
            ) in proc.stderr
    assert 'accuracy/top1' not in proc.stdout + proc.stderr


def test_non_strict_loads_it_with_a_warning(mismatched_checkpoint, tmp_path,
                                            tiny_image_folder, run_tool):
    proc = run_tool('test.py', SMOKE_CONFIG, mismatched_checkpoint,
                    '--work-dir', tmp_path, '--non-strict',
                    *_data_options(tiny_image_folder))
    log = proc.stdout + proc.stderr
    assert (f'WARNING - Checkpoint {mismatched_checkpoint} does not match '
            'the model: 1 missing (head.fc.bias)') in log
    assert 'accuracy/top1' in log
