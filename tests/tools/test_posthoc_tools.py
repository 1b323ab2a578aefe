"""The post-hoc tools (prior_shift_eval, calibrate, expert_aggregation) on
untrained digits-LT checkpoints: their outputs, their refusals, and their
--help from a checkout and from an installed copy. The tools run in this
process (``main(argv)``) except where the command line itself is tested."""
import json
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from helpers import REPO_ROOT

from shike_mm.apis.inference import get_classifier
from shike_mm.models.post_processors import TargetPriorAdjustment

SHIKE_CONFIG = osp.join(REPO_ROOT, 'configs', 'shike',
                        'shike_r32_digits-lt.py')
BASELINE_CONFIG = osp.join(REPO_ROOT, 'configs', 'shike',
                           'shike_r32_digits-lt_single-expert-ce.py')
TOOLS = ('prior_shift_eval', 'calibrate', 'expert_aggregation')
# Digits-LT's training counts, and those of its HeldOutSplit (fraction 0.2,
# seed 0) training part.
COUNTS = [124, 88, 63, 45, 32, 23, 16, 12, 8, 6]
HELD_OUT_TRAIN_COUNTS = [99, 70, 50, 36, 26, 18, 13, 10, 6, 5]
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


@pytest.fixture(scope='session')
def run_main(load_tool):
    """``run_main(tool, *args)`` calls ``main`` of
    ``tools/analysis_tools/<tool>.py`` in this process."""

    def run(name, *args):
        return load_tool(f'analysis_tools/{name}.py').main(
            [str(a) for a in args])

    return run


def _checkpoint(path, config, counts, stage=2):
    """Untrained weights, as a run at ``stage`` would save them."""
    model = get_classifier(config)
    if stage == 2:
        model.head.set_stage(2)
    torch.save(
        {
            'state_dict': model.state_dict(),
            'meta': {
                'train_class_counts': counts
            }
        }, path)
    return path


@pytest.fixture(scope='module')
def shike_checkpoint(tmp_path_factory):
    return _checkpoint(
        tmp_path_factory.mktemp('shike') / 'stage2.pth', SHIKE_CONFIG, COUNTS)


@pytest.fixture(scope='module')
def held_out_config(tmp_path_factory):
    path = tmp_path_factory.mktemp('config') / 'digits_held_out.py'
    path.write_text(f'_base_ = [{SHIKE_CONFIG!r}]\n'
                    'train_dataloader = dict(dataset=dict(_delete_=True, '
                    "type='HeldOutSplit', part='train', fraction=0.2, "
                    'seed=0, dataset={{_base_.train_dataloader.dataset}}))\n')
    return path


def test_prior_shift_eval_table_json_plot_and_em_prior(run_main,
                                                       shike_checkpoint,
                                                       tmp_path, capsys):
    out_dir = tmp_path / 'out'
    prior_file = tmp_path / 'em_prior.json'
    run_main('prior_shift_eval', SHIKE_CONFIG, shike_checkpoint, '--out-dir',
             out_dir, '--estimate-prior', prior_file, '--temperature', 2)
    table = (out_dir / 'prior_shift.md').read_text()
    assert table in capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith('| ')]
    assert rows[0] == ('| test prior | test images | plain | '
                       'logit_adjusted | known_prior | em_prior |')
    assert [row.split('|')[1].strip() for row in rows[2:]] == [
        'forward50', 'forward25', 'forward10', 'forward5', 'forward2',
        'uniform', 'backward2', 'backward5', 'backward10', 'backward25',
        'backward50'
    ]
    assert '| uniform | 500 |' in table and '| forward50 | 135 |' in table
    report = json.loads((out_dir / 'prior_shift.json').read_text())
    (run, ) = report['checkpoints']
    assert run['trained_on'] == 'balanced'  # a stage-2 SHIKE head
    assert run['temperature'] == 2.0
    assert run['train_counts'] == COUNTS
    assert run['results']['forward50']['class_counts'] == \
        [50, 32, 20, 13, 8, 5, 3, 2, 1, 1]
    assert (out_dir / 'prior_shift.png').read_bytes()[:8] == PNG_MAGIC
    adjustment = TargetPriorAdjustment(str(prior_file))
    assert len(adjustment.log_target_prior) == 10
    assert json.loads(prior_file.read_text())['temperature'] == 2.0


def test_prior_shift_eval_wants_one_temperature_per_checkpoint(
        run_main, shike_checkpoint, capsys):
    with pytest.raises(SystemExit):
        run_main('prior_shift_eval', SHIKE_CONFIG, shike_checkpoint,
                 '--temperature', 1, 2)
    assert 'one per checkpoint' in capsys.readouterr().err


def test_calibrate_fits_on_the_held_out_part(run_main, held_out_config,
                                             tmp_path, capsys):
    checkpoint = _checkpoint(tmp_path / 'held_out.pth', SHIKE_CONFIG,
                             HELD_OUT_TRAIN_COUNTS)
    out_dir = tmp_path / 'out'
    report = run_main('calibrate', held_out_config, checkpoint, '--out-dir',
                      out_dir)
    assert report == json.loads((out_dir / 'temperature.json').read_text())
    assert report['fitted_on'].startswith('the held-out part')
    assert report['fit_split']['num_samples'] == 84
    assert report['test_split']['num_samples'] == 500
    assert report['temperature'] > 0
    for split in ('fit_split', 'test_split'):
        for when in ('before', 'after'):
            assert set(report[split][when]) == {
                'top1', 'ece', 'mce', 'adaptive_ece', 'nll', 'brier'
            }
    # The fit never makes the held-out NLL worse.
    assert report['fit_split']['after']['nll'] <= \
        report['fit_split']['before']['nll'] + 1e-9
    assert (out_dir / 'reliability.png').read_bytes()[:8] == PNG_MAGIC
    assert "dict(type='TemperatureScaling', temperature=" in \
        capsys.readouterr().out


def test_calibrate_refuses_the_test_split_and_seen_images(
        run_main, held_out_config, shike_checkpoint):
    with pytest.raises(
            ValueError, match='no val split apart from its test split'):
        run_main('calibrate', SHIKE_CONFIG, shike_checkpoint)
    # Trained on the whole training split: it saw the held-out images.
    with pytest.raises(ValueError, match='may have seen the held-out'):
        run_main('calibrate', held_out_config, shike_checkpoint)


def test_expert_aggregation_writes_weights(run_main, shike_checkpoint,
                                           tmp_path, capsys):
    out_dir = tmp_path / 'out'
    report = run_main('expert_aggregation', SHIKE_CONFIG, shike_checkpoint,
                      '--out-dir', out_dir, '--epochs', 1, '--test-prior',
                      'backward50')
    assert report == json.loads((out_dir / 'expert_weights.json').read_text())
    assert len(report['weights']) == 3
    assert sum(report['weights']) == pytest.approx(1.0)
    assert report['num_test_images'] == 135
    assert set(report['accuracy']) == {'mean', 'learned'}
    assert 'model.head.expert_weights="[' in capsys.readouterr().out
    # The file itself applies the weights.
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    head = MODELS.build(
        dict(
            Config.fromfile(SHIKE_CONFIG).model.head,
            expert_weights=str(out_dir / 'expert_weights.json')))
    torch.testing.assert_close(head.expert_weights,
                               torch.tensor(report['weights']).float())


def test_expert_aggregation_refuses_a_single_expert(run_main, tmp_path):
    checkpoint = _checkpoint(
        tmp_path / 'ce.pth', BASELINE_CONFIG, COUNTS, stage=1)
    with pytest.raises(
            ValueError, match='needs a head with several '
            'experts') as error:
        run_main('expert_aggregation', BASELINE_CONFIG, checkpoint)
    assert str(checkpoint) in str(error.value)


def test_a_missing_checkpoint_is_one_clear_line(tmp_path, run_tool):
    proc = run_tool(
        'analysis_tools/prior_shift_eval.py',
        SHIKE_CONFIG,
        tmp_path / 'missing.pth',
        check=False)
    assert proc.returncode != 0
    assert 'prior_shift_eval.py: error:' in proc.stderr
    assert 'missing.pth' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_help_from_a_checkout_and_an_installed_copy(run_main, tmp_path,
                                                    capsys):
    helps = {}
    for tool in TOOLS:
        with pytest.raises(SystemExit) as done:
            run_main(tool, '--help')
        assert done.value.code == 0
        helps[tool] = capsys.readouterr().out
        assert 'checkpoint' in helps[tool]
    # An installed package holds the tools under shike_mm/.mim/tools; run
    # copies there, outside the checkout, in one fresh interpreter.
    folder = tmp_path / 'site' / 'shike_mm' / '.mim' / 'tools' / \
        'analysis_tools'
    folder.mkdir(parents=True)
    for tool in TOOLS:
        shutil.copy(
            osp.join(REPO_ROOT, 'tools', 'analysis_tools', f'{tool}.py'),
            folder)
    code = ('import runpy, sys\n'
            f'for tool in {list(TOOLS)!r}:\n'
            '    sys.argv = [tool + ".py", "--help"]\n'
            '    try:\n'
            f'        runpy.run_path({str(folder)!r} + "/" + tool + ".py", '
            'run_name="__main__")\n'
            '    except SystemExit as done:\n'
            '        assert done.code == 0, tool\n'
            '    print("=====", flush=True)\n')
    installed = subprocess.run([sys.executable, '-c', code],
                               cwd=tmp_path,
                               capture_output=True,
                               text=True)
    assert installed.returncode == 0, installed.stderr[-2000:]
    outputs = installed.stdout.split('=====\n')
    for tool, output in zip(TOOLS, outputs):
        assert output.startswith(f'usage: {tool}.py')
        # The same description and options (usage wraps by program name).
        assert output.split('\n\n', 1)[1] == \
            helps[tool].split('\n\n', 1)[1], tool


@pytest.mark.parametrize('tool', [
    'prior_shift_eval', 'calibrate', 'expert_aggregation', 'long_tail_report',
    'expert_preference'
])
def test_an_unusable_out_dir_is_found_before_any_work(run_main, tmp_path,
                                                      tool):
    """The checkpoint does not even exist: the tool stops at --out-dir
    before it loads anything."""
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    with pytest.raises(ValueError) as error:
        run_main(tool, SHIKE_CONFIG, tmp_path / 'missing.pth', '--out-dir',
                 blocker / 'out')
    assert str(error.value).startswith(
        f'--out-dir {blocker / "out"} is not a folder this process can write '
        'to (')


def test_an_unusable_estimate_prior_folder_is_found_first(run_main, tmp_path):
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    with pytest.raises(ValueError) as error:
        run_main('prior_shift_eval', SHIKE_CONFIG, tmp_path / 'missing.pth',
                 '--out-dir', tmp_path / 'out', '--estimate-prior',
                 blocker / 'prior.json')
    assert str(error.value).startswith(
        f'--estimate-prior {blocker} is not a folder this process can write '
        'to (')


SMOKE_CONFIG = osp.join(REPO_ROOT, 'configs', 'smoke',
                        'tiny-resnet_fake-images.py')


@pytest.fixture
def smoke_checkpoint(tmp_path):
    return _checkpoint(
        tmp_path / 'smoke.pth', SMOKE_CONFIG, [24, 12, 6, 3], stage=1)


def _split_options(root, val_root, test_root, test_split='val.txt'):
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={val_root}',
        f'test_dataloader.dataset.data_root={test_root}',
        f'test_dataloader.dataset.ann_file={test_split}'
    ]


def test_calibrate_refuses_the_test_split_spelled_differently(
        run_main, smoke_checkpoint, tiny_image_folder, tmp_path):
    """val_dataloader and test_dataloader name the same split file by
    two spellings of its folder: the same images."""
    root = tiny_image_folder
    with pytest.raises(ValueError) as error:
        run_main(
            'calibrate', SMOKE_CONFIG, smoke_checkpoint, '--out-dir',
            tmp_path / 'out',
            *_split_options(root, root, f'{root}/./../{osp.basename(root)}'))
    assert str(error.value) == (
        f'{SMOKE_CONFIG}: val_dataloader.dataset (CustomDataset (ann_file='
        f"'{root}/val.txt')) and test_dataloader.dataset (CustomDataset "
        f"(ann_file='{root}/./../{osp.basename(root)}/val.txt')) hold the "
        'same 16 images, so fitting on the val split would tune the '
        'temperature on the test data. Give a val split of other images, or '
        "train with the training split wrapped in HeldOutSplit(part='train') "
        '(docs/test_distributions.md)')


def test_calibrate_fits_on_a_val_split_of_other_images(run_main,
                                                       smoke_checkpoint,
                                                       tiny_image_folder,
                                                       tmp_path):
    root = tiny_image_folder
    report = run_main('calibrate', SMOKE_CONFIG, smoke_checkpoint, '--out-dir',
                      tmp_path / 'out',
                      *_split_options(root, root, root, 'train.txt'))
    assert report['fitted_on'] == 'the val split (val_dataloader.dataset)'
    assert report['fit_split']['num_samples'] == 16
    assert report['test_split']['num_samples'] == 45


def test_expert_aggregation_refuses_a_pipeline_without_randomness(
        run_main, shike_checkpoint, tmp_path):
    """Without the RandomCrop the two views are the same image: the tool
    would report a view agreement of 1.00000 and learn nothing."""
    config = tmp_path / 'digits_no_augmentation.py'
    config.write_text(
        f'_base_ = [{SHIKE_CONFIG!r}]\n'
        "train_dataloader = dict(dataset=dict(pipeline=[dict(type="
        "'PackInputs')]))\n")
    with pytest.raises(ValueError) as error:
        run_main('expert_aggregation', config, shike_checkpoint, '--out-dir',
                 tmp_path / 'out')
    assert str(error.value) == (
        f'{config}: the training pipeline (PackInputs) gave identical '
        'views of each of the first 64 test images, so the two views would '
        'always agree and the expert weights learn nothing. The views need a '
        'random transform in train_dataloader.dataset.pipeline (e.g. '
        'RandomResizedCrop, RandomCrop with padding, RandomFlip or '
        'RandAugment)')
    assert not (tmp_path / 'out' / 'expert_weights.json').exists()
