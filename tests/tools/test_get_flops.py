"""tools/analysis_tools/get_flops.py reports FLOPs and parameters per config
and splits them into trunk, experts, aligners and head."""

import pytest
from mmengine.config import Config

CIFAR_CONFIG = 'shike/shike_r32_cifar100-lt-if100.py'
R50_CONFIG = 'shike/shike_r50_imagenet-lt.py'


@pytest.fixture(scope='module')
def get_flops(load_tool):
    return load_tool('analysis_tools/get_flops.py')


def _figures(get_flops, name, shape, **options):
    cfg = get_flops.load_config(name)
    cfg.merge_from_dict(options)
    model = get_flops.build_model(cfg)
    return get_flops.complexity(model, *shape), model


def test_cifar_model_counts_match_the_official_network(get_flops):
    figures, model = _figures(get_flops, CIFAR_CONFIG, (32, 32))
    params = figures['params']
    assert params['total'] == 1_277_008  # spec 1.1, both classifier sets
    assert params['total'] == sum(p.numel() for p in model.parameters())
    assert sum(params[title] for title, _ in get_flops.PARTS) == \
        params['total']
    assert params['head'] == 2 * 3 * 64 * 100
    flops = figures['flops']
    # layer3 of ResNet-32 at 8x8 is the bulk; each expert owns a copy
    assert flops['experts'] > flops['trunk'] > flops['aligners'] > 0
    assert sum(flops[t] for t, _ in get_flops.PARTS) == pytest.approx(
        flops['total'], rel=0.01)


def test_one_by_one_aligners_cut_aligner_cost_about_ninefold(get_flops):
    full, _ = _figures(get_flops, R50_CONFIG, (64, 64))
    cheap, _ = _figures(get_flops, R50_CONFIG, (64, 64),
                        **{'model.neck.aligner_kernel_size': 1})
    assert 67e6 < full['params']['aligners'] < 68e6
    ratio = full['params']['aligners'] / cheap['params']['aligners']
    assert 8.5 < ratio < 9
    assert full['flops']['aligners'] / cheap['flops']['aligners'] > 7
    for part in ('trunk', 'experts', 'head'):
        assert full['params'][part] == cheap['params'][part]


def test_prints_one_markdown_row_per_config(get_flops, capsys):
    get_flops.main([CIFAR_CONFIG, '--shape', '32'])
    lines = capsys.readouterr().out.strip().splitlines()
    header = [cell.strip() for cell in lines[0].strip('|').split('|')]
    assert header[:4] == ['config', 'input', 'GFLOPs', 'params (M)']
    assert header[4:] == [
        f'{title} GFLOPs / M params' for title, _ in get_flops.PARTS
    ]
    assert len(lines) == 3
    row = [cell.strip() for cell in lines[2].strip('|').split('|')]
    assert row[:2] == ['`shike_r32_cifar100-lt-if100.py`', '32x32']
    assert row[3] == '1.28'


def test_reads_mmpretrain_configs_by_package_name(get_flops):
    cfg = get_flops.load_config('mmpretrain::resnet/resnet50_8xb32_in1k.py')
    assert isinstance(cfg, Config)
    assert cfg.model.backbone.type == 'ResNet'
    assert cfg.model.backbone.depth == 50


@pytest.mark.parametrize(
    'name, size',
    [
        (CIFAR_CONFIG, (32, 32)),  # test pipeline keeps 32: training crop
        ('shike/shike_r32_digits-lt.py', (16, 16)),  # test Resize (16, 16)
        (R50_CONFIG, (224, 224)),  # test CenterCrop 224
        ('mmpretrain::resnet/resnet50_8xb32_in1k.py', (224, 224)),
    ])
def test_input_size_comes_from_the_config(get_flops, name, size):
    assert get_flops.input_size(get_flops.load_config(name)) == size


def test_input_size_of_a_config_without_a_fixed_size(get_flops):
    cfg = get_flops.load_config(CIFAR_CONFIG)
    cfg.train_dataloader.dataset.pipeline = [dict(type='PackInputs')]
    with pytest.raises(ValueError, match='give it explicitly'):
        get_flops.input_size(cfg)


def test_default_shape_is_the_configs_own(get_flops, capsys):
    get_flops.main([CIFAR_CONFIG])
    row = capsys.readouterr().out.strip().splitlines()[2]
    cells = [cell.strip() for cell in row.strip('|').split('|')]
    assert cells[1:3] == ['32x32', '0.12']
