"""A short digits-LT run, then the analysis tools and test-time dumps on
its checkpoint."""
import json
import os.path as osp
import pickle
import shutil

import pytest
import torch
from helpers import REPO_ROOT
from mmpretrain.utils import load_json_log

from shike_mm.apis.inference import get_classifier
from shike_mm.apis.training_logs import find_scalars_json

SHIKE_CONFIG = 'configs/shike/shike_r32_digits-lt.py'
BASELINE_CONFIG = 'configs/shike/shike_r32_digits-lt_single-expert-ce.py'
METRIC_KEYS = {
    'lt/top1', 'lt/top5', 'lt/many', 'lt/medium', 'lt/few', 'lt/ece'
}
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def _assert_png(path):
    with open(path, 'rb') as f:
        assert f.read(8) == PNG_MAGIC, path
    assert osp.getsize(path) > 10_000, path


@pytest.fixture(scope='module')
def shike_run(tmp_path_factory, run_tool):
    """The real digits-LT SHIKE config on a short schedule: 2 epochs of two
    208-image batches (the whole training split: the counts stored in the
    checkpoint are the real ones), stage 2 from the second, validation
    after each."""
    work_dir = tmp_path_factory.mktemp('digits_shike')
    run_tool('train.py', SHIKE_CONFIG, '--work-dir', work_dir, '--cfg-options',
             'train_cfg.max_epochs=2', 'train_cfg.val_interval=1',
             'custom_hooks.0.switch_epoch=1',
             'train_dataloader.batch_size=208')
    return work_dir


@pytest.fixture(scope='module')
def baseline_checkpoint(tmp_path_factory):
    """Random weights of the single-expert CE baseline."""
    model = get_classifier(osp.join(REPO_ROOT, BASELINE_CONFIG))
    path = tmp_path_factory.mktemp('digits_ce') / 'random.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def test_short_run_logs_long_tail_metrics_and_switches_stage(shike_run):
    log = load_json_log(find_scalars_json(str(shike_run)))
    assert [r['step'] for r in log['val']] == [1, 2]
    for record in log['val']:
        assert METRIC_KEYS <= set(record)
    assert {'loss_ce', 'loss_dkt', 'loss_mkd'} <= set(log['train'][0])
    assert 'loss_bal' in log['train'][-1]
    assert osp.isfile(shike_run / 'epoch_2.pth')


def test_report_compares_models_and_writes_the_plots(shike_run,
                                                     baseline_checkpoint,
                                                     tmp_path, run_tool):
    out_dir = tmp_path / 'report'
    proc = run_tool('analysis_tools/long_tail_report.py', SHIKE_CONFIG,
                    shike_run / 'epoch_2.pth', '--baseline', BASELINE_CONFIG,
                    baseline_checkpoint, '--name', 'shike', '--baseline-name',
                    'ce', '--out-dir', out_dir)

    header = '| model | top-1 | Many (3 cls) | Medium (3 cls) | Few (4 cls) |'
    assert header in proc.stdout
    report = (out_dir / 'report.md').read_text()
    assert report in proc.stdout
    rows = {
        line.split('|')[1].strip(): line
        for line in report.splitlines() if line.startswith('| ')
    }
    # The report re-evaluates the checkpoint on the test split: the same
    # numbers as the validation at the end of training.
    logged = load_json_log(find_scalars_json(str(shike_run)))['val'][-1]
    shike_row = [float(v) for v in rows['shike'].split('|')[2:6]]
    assert shike_row == pytest.approx(
        [logged[f'lt/{k}'] for k in ('top1', 'many', 'medium', 'few')],
        abs=0.006)
    assert 'ce' in rows
    assert '| expert 3 |' in report and '| mean of expert logits |' in report

    for png in ('class_accuracy.png', 'expert_preference_shike.png',
                'learning_curves.png'):
        _assert_png(out_dir / png)
    # One expert has no preference plot; a checkpoint without a training
    # log next to it has no learning curves.
    assert not (out_dir / 'expert_preference_ce.png').exists()
    for name in ('shike', 'ce'):
        table = json.loads((out_dir / f'per_class_{name}.json').read_text())
        assert [row['train_count'] for row in table] == \
            [124, 88, 63, 45, 32, 23, 16, 12, 8, 6]
        assert [row['group'] for row in table] == \
            ['many'] * 3 + ['medium'] * 3 + ['few'] * 4


def test_test_tool_dumps_each_experts_scores(shike_run, tmp_path, run_tool):
    out = tmp_path / 'preds.pkl'
    run_tool('test.py', SHIKE_CONFIG, shike_run / 'epoch_2.pth', '--work-dir',
             tmp_path, '--out', out)
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 500
    experts = torch.as_tensor(preds[0]['expert_scores'])
    assert experts.shape == (3, 10)
    assert torch.allclose(experts.sum(dim=1), torch.ones(3), atol=1e-5)


def test_standalone_plot_tools(shike_run, tmp_path, load_tool):
    curves = tmp_path / 'curves.png'
    load_tool('analysis_tools/plot_learning_curves.py').main(
        [str(shike_run), '--out', str(curves)])
    _assert_png(curves)
    # Two runs overlaid, named after their work dirs.
    again = tmp_path / 'again'
    shutil.copytree(shike_run, again)
    load_tool('analysis_tools/plot_learning_curves.py').main(
        [str(shike_run), str(again)])
    _assert_png(shike_run / 'learning_curves.png')

    result = load_tool('analysis_tools/expert_preference.py').main([
        osp.join(REPO_ROOT, SHIKE_CONFIG),
        str(shike_run / 'epoch_2.pth'), '--out-dir',
        str(tmp_path / 'experts')
    ])
    assert result.num_experts == 3
    _assert_png(tmp_path / 'experts' / 'expert_preference.png')

    accuracy = tmp_path / 'accuracy.png'
    load_tool('analysis_tools/plot_class_accuracy.py').main([
        str(tmp_path / 'experts' / 'per_class.json'), '--out',
        str(accuracy), '--names', 'shike'
    ])
    _assert_png(accuracy)


def test_report_warns_when_models_trained_on_other_counts(
        shike_run, baseline_checkpoint, tmp_path, run_tool):
    # The baseline checkpoint claims another training set.
    other = torch.load(baseline_checkpoint, weights_only=False)
    other['meta'] = {'train_class_counts': [10] * 10}
    path = tmp_path / 'other_data.pth'
    torch.save(other, path)
    out_dir = tmp_path / 'report'
    proc = run_tool('analysis_tools/long_tail_report.py', SHIKE_CONFIG,
                    shike_run / 'epoch_2.pth', '--baseline', BASELINE_CONFIG,
                    path, '--name', 'shike', '--baseline-name', 'ce',
                    '--out-dir', out_dir)
    warning = ('**Warning**: the models were trained on different class '
               'counts, so their Many/Medium/Few groups hold different '
               'classes: shike: 417 images; ce: 100 images.')
    assert warning in proc.stdout
    assert warning in (out_dir / 'report.md').read_text()
