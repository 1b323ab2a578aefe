"""A default run of the shipped digits config, and its resume after the
stage switch, log no warning: nothing in them needs the user to act."""
import os


def test_default_run_and_stage2_resume_log_no_warning(tmp_path, run_tool):
    env = {k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'}
    short = [
        'train_cfg.max_epochs=2', 'custom_hooks.0.switch_epoch=1',
        'train_dataloader.batch_size=208',
        'default_hooks.checkpoint.interval=1'
    ]
    first = run_tool(
        'train.py',
        'configs/shike/shike_r32_digits-lt.py',
        '--work-dir',
        tmp_path / 'first',
        '--cfg-options',
        *short,
        env=env)
    resumed = run_tool(
        'train.py',
        'configs/shike/shike_r32_digits-lt.py',
        '--work-dir',
        tmp_path / 'resumed',
        '--resume',
        tmp_path / 'first' / 'epoch_2.pth',
        '--cfg-options',
        *short[1:],
        'train_cfg.max_epochs=3',
        env=env)
    for proc in (first, resumed):
        log = proc.stdout + proc.stderr
        assert 'Epoch(val)' in log
        assert 'WARNING' not in log and 'Warning' not in log, log[-3000:]
    assert 'Epoch(train) [3]' in resumed.stdout + resumed.stderr
