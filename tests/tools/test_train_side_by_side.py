"""tools/train_side_by_side.py trains configs at the same time, each in its
own work dir, and stops the others when one fails."""
import os

SMOKE_CONFIG = 'configs/smoke/tiny-resnet_fake-images.py'
TOOL = 'train_side_by_side.py'


def _data_options(root):
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}'
    ]


def _env():
    return dict(os.environ, OMP_NUM_THREADS='1')


def test_two_runs_train_side_by_side(tmp_path, tiny_image_folder, run_tool):
    first, second = tmp_path / 'first', tmp_path / 'second'
    proc = run_tool(
        TOOL,
        SMOKE_CONFIG,
        SMOKE_CONFIG,
        '--work-dirs',
        first,
        second,
        '--cfg-options',
        *_data_options(tiny_image_folder),
        'train_cfg.max_epochs=1',
        env=_env())
    for work_dir in (first, second):
        assert (work_dir / 'epoch_1.pth').is_file()
        assert 'Epoch(val) [1]' in (work_dir / 'console.log').read_text()
        assert f'finished; checkpoints in {work_dir}' in proc.stdout
    # Validation lines are echoed with the name of the run's work dir.
    for name in ('first', 'second'):
        assert any(
            line.startswith(f'[{name}] ') and 'Epoch(val) [1]' in line
            for line in proc.stdout.splitlines()), proc.stdout


def test_a_failed_run_stops_the_others(tmp_path, tiny_image_folder, run_tool):
    slow, broken = tmp_path / 'slow', tmp_path / 'broken'
    proc = run_tool(
        TOOL,
        SMOKE_CONFIG,
        tmp_path / 'missing_config.py',
        '--work-dirs',
        slow,
        broken,
        '--cfg-options',
        *_data_options(tiny_image_folder),
        'train_cfg.max_epochs=1000',
        env=_env(),
        check=False)
    assert proc.returncode == 1
    assert '[broken] failed with exit status' in proc.stderr
    assert 'missing_config.py' in (broken / 'console.log').read_text()
    assert 'Stopped the other runs: slow' in proc.stderr
    assert not (slow / 'epoch_1000.pth').exists()


def test_each_config_needs_its_own_work_dir(tmp_path, run_tool):
    proc = run_tool(
        TOOL, SMOKE_CONFIG, SMOKE_CONFIG, '--work-dirs', tmp_path, check=False)
    assert proc.returncode == 2
    assert '2 configs but 1 --work-dirs; give one each' in proc.stderr
