"""The Python examples of the docs run as written, in a folder that holds
the files they name (a checkpoint made the documented way, the shipped
demo digit)."""
import importlib.util
import os
import os.path as osp
import re

import mmcv
import numpy as np
import pytest
import torch
from helpers import REPO_ROOT
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

from shike_mm.apis import get_classifier

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs/shike/shike_r32_digits-lt.py')
DEMO_DIGIT = osp.join(REPO_ROOT, 'demo', 'digit_7.png')


def python_blocks(doc: str, heading: str) -> list:
    """The ```python blocks of the section of ``doc`` under ``heading``
    (up to the next heading of the same or a higher level)."""
    with open(osp.join(REPO_ROOT, doc)) as f:
        lines = f.read().split('\n')
    level = len(heading.split(' ')[0])
    start = lines.index(heading)
    blocks, block, fenced = [], None, False
    for line in lines[start + 1:]:
        if line.startswith('```'):
            fenced = not fenced
            if fenced and line == '```python':
                block = []
            elif not fenced and block is not None:
                blocks.append('\n'.join(block))
                block = None
            continue
        if fenced:
            if block is not None:
                block.append(line)
        elif re.match(r'#{1,%d} ' % level, line):
            break
    return blocks


def run_blocks(blocks, cwd, monkeypatch):
    """Run code blocks one after the other in one namespace, in ``cwd``."""
    monkeypatch.chdir(cwd)
    namespace = {'__name__': '__docs__'}
    for block in blocks:
        exec(compile(block, 'docs example', 'exec'), namespace)
    return namespace


def test_the_demo_digit_is_the_documented_test_image():
    init_default_scope('mmpretrain')
    dataset_cfg = Config.fromfile(DIGITS_CONFIG).test_dataloader.dataset
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=[]))
    info = dataset.get_data_info(1)  # "test image 1 of DigitsLT, a 7"
    assert info['gt_label'] == 7
    np.testing.assert_array_equal(mmcv.imread(DEMO_DIGIT), info['img'])


@pytest.fixture
def digits_work_folder(tmp_path):
    """A folder laid out as the checkout after the main job: configs/,
    demo/ and a digits checkpoint at work_dirs/digits-lt/epoch_30.pth, plus
    a dark-on-light drawing my_digit.png."""
    for name in ('configs', 'demo'):
        os.symlink(osp.join(REPO_ROOT, name), tmp_path / name)
    model = get_classifier(DIGITS_CONFIG)
    model.head.set_stage(2)
    work_dir = tmp_path / 'work_dirs' / 'digits-lt'
    work_dir.mkdir(parents=True)
    torch.save({'state_dict': model.state_dict()}, work_dir / 'epoch_30.pth')
    canvas = np.full((64, 64), 255, np.uint8)
    canvas[20:36, 24:40] = 255 - mmcv.imread(DEMO_DIGIT, flag='grayscale')
    mmcv.imwrite(canvas, str(tmp_path / 'my_digit.png'))
    return tmp_path


def test_getting_started_inference_examples(digits_work_folder, monkeypatch):
    blocks = python_blocks('docs/getting_started.md', '## 4. Inference')
    assert len(blocks) == 3
    namespace = run_blocks(blocks, digits_work_folder, monkeypatch)
    assert namespace['result']['pred_class'] in tuple('0123456789')
    assert namespace['sample'].expert_scores.shape == (3, 10)
    # The invert-and-crop recipe gives back the demo digit's own pixels.
    recovered = namespace['digit']
    demo = mmcv.imread(DEMO_DIGIT, flag='grayscale')
    rows, cols = np.nonzero(demo > 64)
    np.testing.assert_array_equal(
        recovered, demo[rows.min():rows.max() + 1,
                        cols.min():cols.max() + 1])


def _official_layout():
    path = osp.join(REPO_ROOT, 'tests', 'tools',
                    'test_shike_official_to_mm.py')
    spec = importlib.util.spec_from_file_location('official_layout', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_install_models_by_name_example(tmp_path, load_tool, monkeypatch):
    # shike_cifar10.pth made as the page says: an official checkpoint,
    # converted.
    official = tmp_path / 'official.pth.tar'
    torch.save(
        dict(epoch=200, state_dict=_official_layout().official_state_dict()),
        official)
    load_tool('model_converters/shike_official_to_mm.py').main(
        [str(official), str(tmp_path / 'shike_cifar10.pth')])
    blocks = python_blocks('docs/install.md', '## Models by name')
    assert len(blocks) == 1
    namespace = run_blocks(blocks, tmp_path, monkeypatch)
    assert namespace['model'].head.current_stage == 2
    assert namespace['inferencer'].model.head.num_classes == 10


def _mean_std(values):
    values = np.asarray(values, dtype=np.float64)
    return f'{values.mean():.2f} ± {values.std(ddof=1):.2f}'


@pytest.mark.parametrize(
    'config',
    ['shike_r32_digits-lt.py', 'shike_r32_digits-lt_single-expert-ce.py'])
def test_documented_five_seed_figures_are_the_configs_expected_results(config):
    """README, getting started and the recipes page state what the configs'
    expected_results hold (the report prints from those)."""
    expected = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'shike', config)).expected_results
    figures = {key: _mean_std(expected[key]) for key in ('top1', 'few')}
    for doc in ('README.md', 'docs/getting_started.md',
                'configs/shike/README.md'):
        with open(osp.join(REPO_ROOT, doc)) as f:
            text = ' '.join(f.read().split())
        for key, figure in figures.items():
            assert figure in text, (doc, key, figure)
    with open(osp.join(REPO_ROOT, 'docs', 'getting_started.md')) as f:
        rows = [line for line in f if line.startswith('| ')]
    row = ' | '.join(
        _mean_std(expected[key]) for key in ('top1', 'many', 'medium', 'few'))
    assert any(row in line for line in rows), row
