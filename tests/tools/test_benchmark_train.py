"""tools/analysis_tools/benchmark_train.py times the training step and the
data pipeline of configs on generated data. Timings are never asserted."""
import json
import math
import re

import pytest
import torch
from mmengine.config import Config

from shike_mm.utils import find_config

CIFAR_CONFIG = 'shike/shike_r32_cifar100-lt-if100.py'
R50_CONFIG = 'shike/shike_r50_imagenet-lt.py'
# Two timed steps on one thread, a few images through the pipeline.
QUICK = ['--threads', '1', '--iters', '2', '--warmup', '1']
NUMBER = r'\d+(\.\d+)?'


@pytest.fixture(scope='module')
def benchmark_train(load_tool):
    return load_tool('analysis_tools/benchmark_train.py')


@pytest.fixture
def tiny_config(tmp_path):
    """The smoke config's ResNet cut to its stem and first stage, on 16x16
    crops: a model that compiles in seconds."""
    cfg = Config(
        dict(
            _base_=[find_config('smoke/tiny-resnet_fake-images.py')],
            model=dict(
                backbone=dict(
                    num_stages=1,
                    out_indices=(0, ),
                    strides=(1, ),
                    dilations=(1, )),
                head=dict(in_channels=8)),
            train_dataloader=dict(
                batch_size=2,
                dataset=dict(pipeline=[
                    dict(type='RandomCrop', crop_size=16),
                    dict(type='PackInputs')
                ])),
            optim_wrapper=dict(
                optimizer=dict(type='SGD', lr=0.1, momentum=0.9))))
    path = tmp_path / 'tiny.py'
    cfg.dump(str(path))
    return str(path)


def _table(stdout):
    """Header cells and data rows of the Markdown table."""
    lines = [line for line in stdout.splitlines() if line.startswith('|')]
    header, rows = lines[0], lines[2:]

    def cells(line):
        return [cell.strip() for cell in line.strip('|').split('|')]

    return cells(header), [cells(row) for row in rows]


def _args(benchmark_train, *argv):
    return benchmark_train.parse_args(list(argv))


def _check_measured(row):
    assert row['skipped'] is None
    assert row['images_per_s_min'] <= row['images_per_s'] <= \
        row['images_per_s_max']
    assert row['step_ms'] > 0 and row['peak_memory_bytes'] > 0
    assert row['cpu_step_ms'] > 0
    assert math.isfinite(row['last_loss'])


def test_cifar_config_prints_every_column(benchmark_train, run_tool, tmp_path):
    out = tmp_path / 'bench.json'
    proc = run_tool('analysis_tools/benchmark_train.py', CIFAR_CONFIG, '--amp',
                    'none', '--batch-size', '16', '--pipeline-iters', '8',
                    '--loader-workers', '1', '--loader-batches', '2', '--json',
                    out, *QUICK)
    assert f'torch {torch.__version__}' in proc.stdout
    assert 'torch threads: 1;' in proc.stdout
    assert 'DataLoader: 1 persistent workers, 2 timed batches' in proc.stdout
    assert 'cores usable' in proc.stdout
    header, rows = _table(proc.stdout)
    assert header == list(benchmark_train.COLUMNS)
    assert len(rows) == 1
    cells = dict(zip(header, rows[0]))
    assert cells['config'] == '`shike_r32_cifar100-lt-if100.py`'
    assert (cells['AMP'], cells['channels-last'], cells['compile'],
            cells['batch'], cells['input']) == ('none', 'no', 'no', '16',
                                                '32x32')
    assert re.fullmatch(rf'{NUMBER} \({NUMBER}-{NUMBER}\)',
                        cells['images/s median (min-max)'])
    for column in header[7:]:
        assert re.fullmatch(NUMBER, cells[column]), column
    assert 'peak memory: peak RSS' in proc.stdout
    # A stage-1 step of the head logs no warning.
    assert 'WARNING' not in proc.stdout + proc.stderr

    result = json.loads(out.read_text())
    assert result['environment']['torch_threads'] == 1
    assert result['environment']['torch'] == torch.__version__
    (row, ) = result['rows']
    _check_measured(row)
    assert row['input'] == [32, 32] and row['batch_size'] == 16
    assert row['gflops_per_image'] == pytest.approx(0.12, abs=0.01)
    assert row['workers_to_saturate'] == math.ceil(
        row['images_per_s'] / row['pipeline_images_per_s_per_worker'])
    assert row['loader_images_per_s'] > 0


def test_r50_config_at_a_small_batch(benchmark_train, capsys, tmp_path):
    """ImageNet-size input, and a pipeline that loads (generated) JPEGs."""
    out = tmp_path / 'bench.json'
    benchmark_train.main([
        R50_CONFIG, '--amp', 'none', '--batch-size', '2', '--threads', '1',
        '--iters', '2', '--warmup', '0', '--pipeline-iters', '2',
        '--loader-workers', '1', '--loader-batches', '1', '--json',
        str(out)
    ])
    header, rows = _table(capsys.readouterr().out)
    cells = dict(zip(header, rows[0]))
    assert cells['input'] == '224x224' and cells['batch'] == '2'
    assert all(cell not in ('', '-') for cell in rows[0])
    (row, ) = json.loads(out.read_text())['rows']
    _check_measured(row)
    # three experts' layer4 and the DKF aligners on top of a ResNet-50
    assert row['gflops_per_image'] > 2 * 4.1
    assert row['pipeline_images_per_s_per_worker'] > 0


def test_baseline_row_and_flop_normalised_ratio(benchmark_train, capsys,
                                                tmp_path, tiny_config):
    out = tmp_path / 'bench.json'
    benchmark_train.main([
        CIFAR_CONFIG, '--baseline', tiny_config, '--amp', 'none',
        '--batch-size', '4', '--pipeline-iters', '0', '--json',
        str(out), *QUICK
    ])
    stdout = capsys.readouterr().out
    _, rows = _table(stdout)
    assert [row[0] for row in rows
            ] == ['`shike_r32_cifar100-lt-if100.py`', '`tiny.py`']
    result = json.loads(out.read_text())
    ours, baseline = result['rows']
    _check_measured(baseline)
    expected = (ours['images_per_s'] * ours['gflops_per_image']) / (
        baseline['images_per_s'] * baseline['gflops_per_image'])
    assert result['flop_normalised_ratio'] == pytest.approx(expected)
    assert 'ours / baseline: ' \
        f'{result["flop_normalised_ratio"]:.2f}' in stdout


def test_bf16_and_channels_last_train_a_step_on_the_cpu(benchmark_train):
    args = _args(benchmark_train, CIFAR_CONFIG, '--amp', 'bf16',
                 '--channels-last', '--batch-size', '4', '--iters', '1',
                 '--warmup', '1', '--pipeline-iters', '0')
    row = benchmark_train.benchmark(CIFAR_CONFIG, args, torch.device('cpu'))
    _check_measured(row)
    assert row['amp'] == 'bf16' and row['channels_last']
    assert any('torch.autocast("cpu", bfloat16)' in note
               for note in row['notes'])


def test_channels_last_reaches_the_model(benchmark_train, monkeypatch):
    """Weights and the preprocessed inputs are in channels-last format."""
    seen = []
    build_model = benchmark_train.build_model

    def recording_build_model(cfg):
        model = build_model(cfg)
        model.backbone.register_forward_pre_hook(
            lambda module, inputs: seen.append(inputs[0]))
        seen.append(model)
        return model

    monkeypatch.setattr(benchmark_train, 'build_model', recording_build_model)
    args = _args(benchmark_train, CIFAR_CONFIG, '--amp', 'none',
                 '--channels-last', '--batch-size', '2', '--iters', '1',
                 '--warmup', '0', '--pipeline-iters', '0')
    benchmark_train.benchmark(CIFAR_CONFIG, args, torch.device('cpu'))
    model, inputs = seen[0], seen[-1]
    assert inputs.is_contiguous(memory_format=torch.channels_last)
    conv = model.backbone.conv1.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)


def test_compile_trains_a_step(benchmark_train, tiny_config):
    # Inductor takes minutes on two cores (docs/performance.md); the eager
    # backend runs the same torch.compile path without generating code.
    args = _args(benchmark_train, tiny_config, '--compile',
                 '--compile-backend', 'eager', '--iters', '1', '--warmup', '0',
                 '--pipeline-iters', '0')
    row = benchmark_train.benchmark(tiny_config, args, torch.device('cpu'))
    _check_measured(row)
    assert row['compile'] == 'eager'
    assert any('compilation included' in note for note in row['notes'])


def test_compile_without_a_cpp_compiler_is_skipped(benchmark_train,
                                                   no_cpp_compiler, capsys):
    benchmark_train.main([
        CIFAR_CONFIG, '--compile', '--amp', 'none', '--iters', '1', '--warmup',
        '0'
    ])
    stdout = capsys.readouterr().out
    _, rows = _table(stdout)
    assert 'skipped (see below)' in rows[0]
    assert re.search(
        r'skipped shike/shike_r32_cifar100-lt-if100.py: torch.compile '
        'needs a C\\+\\+ compiler', stdout)


@pytest.mark.skipif(torch.cuda.is_available(), reason='fp16 AMP runs on a GPU')
def test_config_fp16_amp_is_skipped_on_the_cpu(benchmark_train, capsys,
                                               tmp_path):
    out = tmp_path / 'bench.json'
    benchmark_train.main(
        [CIFAR_CONFIG, '--iters', '1', '--warmup', '0', '--json',
         str(out)])
    stdout = capsys.readouterr().out
    (row, ) = json.loads(out.read_text())['rows']
    assert row['amp'] == 'fp16'  # the config's AmpOptimWrapper
    assert row['skipped'].startswith('fp16 AMP needs a CUDA GPU')
    assert f'skipped {CIFAR_CONFIG}: fp16 AMP needs a CUDA GPU' in stdout
    assert 'images_per_s' not in row


def test_rejects_options_that_cannot_work(benchmark_train):
    for argv in (['--iters', '0'], ['--amp',
                                    'fp32'], ['--iters', '2', '--window', '3'],
                 ['--warmup', '-1'], ['--loader-workers',
                                      '-1'], ['--loader-batches', '0']):
        with pytest.raises(SystemExit):
            benchmark_train.parse_args([CIFAR_CONFIG] + argv)
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            benchmark_train.parse_args([CIFAR_CONFIG, '--device', 'cuda'])


def test_mkd_benchmark_compares_both_formulas(capsys, load_tool):
    benchmark_mkd = load_tool('analysis_tools/benchmark_mkd.py')
    benchmark_mkd.main(['--sizes', '4,64,1000', '--iters', '1'])
    _, rows = _table(capsys.readouterr().out)
    assert [row[3] for row in rows] == list(benchmark_mkd.FORMULAS)
    logits = torch.randn(4, 64, 1000, requires_grad=True)
    peaks = [
        benchmark_mkd.peak_memory(loss_fn, logits)
        for loss_fn in benchmark_mkd.FORMULAS.values()
    ]
    if peaks[0] is not None:  # glibc or CUDA
        pairwise, closed_form = peaks
        assert closed_form < pairwise


def test_lift_step_against_full_fine_tuning(benchmark_train, tmp_path):
    """The LIFT config and its full fine-tuning variant, each without its
    weight files (the step's cost does not depend on the weights)."""
    no_files = ['model.head.text_weights=None']
    out = tmp_path / 'bench.json'
    benchmark_train.main([
        'lift/lift_clip-vit-b16_imagenet-lt.py', '--baseline',
        'lift/lift_clip-vit-b16_imagenet-lt_full-ft.py', '--amp', 'none',
        '--batch-size', '2', '--pipeline-iters', '0', '--json',
        str(out), '--iters', '1', '--warmup', '1', '--threads', '1',
        '--cfg-options', 'model.backbone.module.checkpoint=None', *no_files,
        '--baseline-cfg-options', 'model.backbone.checkpoint=None', *no_files
    ])
    lift, full = json.loads(out.read_text())['rows']
    _check_measured(lift)
    _check_measured(full)
    assert lift['input'] == full['input'] == [224, 224]
    with pytest.raises(SystemExit):
        _args(benchmark_train, CIFAR_CONFIG, '--baseline-cfg-options', 'a=1')
