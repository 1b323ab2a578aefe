"""tools/train.py trains on the CPU and resumes with the optimizer state."""
import os

import torch

from shike_mm.utils import load_local_checkpoint

SMOKE_CONFIG = 'configs/smoke/tiny-resnet_fake-images.py'


def _train(run_tool, data_root, work_dir, *cfg_options, resume=None):
    args = ['--resume', resume] if resume else []
    env = {k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'}
    return run_tool(
        'train.py',
        SMOKE_CONFIG,
        '--work-dir',
        work_dir,
        *args,
        '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        *cfg_options,
        env=env)


def _assert_same_tensors(left, right):
    assert left.keys() == right.keys()
    for key in left:
        torch.testing.assert_close(left[key], right[key], msg=key)


def test_resume_continues_at_epoch_3_with_optimizer_state(
        tmp_path, tiny_image_folder, run_tool):
    first, resumed, straight = (
        str(tmp_path / n) for n in ('first', 'resumed', 'straight'))
    _train(run_tool, tiny_image_folder, first, 'train_cfg.max_epochs=2')
    assert sorted(f for f in os.listdir(first)
                  if f.endswith('.pth')) == ['epoch_1.pth', 'epoch_2.pth']
    epoch_2 = load_local_checkpoint(os.path.join(first, 'epoch_2.pth'))
    momentum = epoch_2['optimizer']['state']
    assert momentum and all(s['momentum_buffer'].abs().sum() > 0
                            for s in momentum.values())

    proc = _train(
        run_tool,
        tiny_image_folder,
        resumed,
        resume=os.path.join(first, 'epoch_2.pth'))
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 2' in log
    # Without a GPU the tool chooses the thread count and says so once.
    assert log.count('CPU-only run: torch uses') == 1
    assert 'set OMP_NUM_THREADS to choose' in log
    assert 'Epoch(train) [3]' in log
    assert 'Epoch(train) [1]' not in log and 'Epoch(train) [2]' not in log
    assert sorted(f for f in os.listdir(resumed)
                  if f.endswith('.pth')) == ['epoch_3.pth']

    _train(run_tool, tiny_image_folder, straight)
    after_resume = load_local_checkpoint(os.path.join(resumed, 'epoch_3.pth'))
    uninterrupted = load_local_checkpoint(
        os.path.join(straight, 'epoch_3.pth'))
    assert after_resume['meta']['epoch'] == 3
    # Identical only if the resumed run started from epoch 2's momentum.
    _assert_same_tensors(after_resume['state_dict'],
                         uninterrupted['state_dict'])
    for key, state in uninterrupted['optimizer']['state'].items():
        torch.testing.assert_close(
            after_resume['optimizer']['state'][key]['momentum_buffer'],
            state['momentum_buffer'])
