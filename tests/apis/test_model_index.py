"""The SHIKE model index: after ``import shike_mm`` MMPretrain lists the
models and builds them by name, and a converted official checkpoint loads
by name."""
import importlib.util
import os.path as osp
import re

import numpy as np
import pytest
import torch
from helpers import REPO_ROOT
from mmengine.analysis import FlopAnalyzer
from mmengine.fileio import load
from mmpretrain import (ImageClassificationInferencer, get_model,
                        inference_model, list_models)

import shike_mm  # noqa: F401  (registers the model index)
from shike_mm.apis.flops import input_size
from shike_mm.utils import load_local_checkpoint
from shike_mm.utils.hub import register_model_index

METAFILE = load(osp.join(REPO_ROOT, 'configs', 'shike', 'metafile.yml'))
MODELS = {model['Name']: model for model in METAFILE['Models']}
# {algorithm}_{backbone}[_{pretrain}-pre]_{gpus}xb{batch}-{epochs}e_{data}
NAME = re.compile(r'^shike_[a-z0-9.-]+(_[a-z0-9-]+-pre)?_\d+xb\d+-\d+e'
                  r'_[a-z0-9-]+$')
CIFAR10 = 'shike_resnet32_1xb128-200e_cifar10lt-if100'


def _load_script(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_index_imports_the_metafiles():
    index = load(osp.join(REPO_ROOT, 'model-index.yml'))
    assert index['Import'] == [
        'configs/shike/metafile.yml', 'configs/lift/metafile.yml'
    ]


def test_list_models_has_every_metafile_model():
    assert MODELS
    assert set(list_models('*shike*')) == set(MODELS)
    register_model_index()  # again: a no-op, not a name conflict
    assert set(list_models('*shike*')) == set(MODELS)


@pytest.mark.parametrize('name', sorted(MODELS))
def test_metafile_entry(name):
    entry = MODELS[name]
    assert NAME.match(name), name
    assert entry['In Collection'] == 'SHIKE'
    assert osp.isfile(osp.join(REPO_ROOT, entry['Config']))
    result, = entry['Results']
    assert result['Task'] == 'Image Classification'
    if 'Weights' not in entry:
        assert result['Metrics'] == {'Top 1 Accuracy': 'not yet trained'}


@pytest.mark.parametrize('name', sorted(MODELS))
def test_get_model_builds_each_model(name):
    # Models built on CLIP need its converted weights and the class text
    # embeddings, files the tests do not have: random ones stand in.
    files = dict(
        backbone=dict(module=dict(checkpoint=None)),
        head=dict(text_weights=None)) if 'clip' in name else {}
    model = get_model(name, **files)
    assert type(model.head).__name__ == 'SHIKEHead'
    assert model._metainfo.name == name
    metadata = MODELS[name]['Metadata']
    assert sum(p.numel() for p in model.parameters()) == \
        metadata['Parameters']
    if 'resnet32' in name:  # the cheap ones: check FLOPs too
        size = input_size(model._config)  # 16x16 digits, 32x32 CIFAR
        with torch.no_grad():
            flops = FlopAnalyzer(model, torch.randn(1, 3, *size)).total()
        assert flops == metadata['FLOPs']


def test_pretrained_true_without_published_weights_is_an_error():
    config = MODELS[CIFAR10]['Config']
    with pytest.raises(ValueError, match='has no published weights') as error:
        get_model(CIFAR10, pretrained=True)
    message = str(error.value)
    assert f'python tools/train.py {config}' in message
    assert 'python tools/model_converters/shike_official_to_mm.py' in message
    assert f"get_model('{CIFAR10}', pretrained='shike.pth')" in message
    # An inferencer loads pretrained weights by default.
    with pytest.raises(ValueError, match='has no published weights'):
        ImageClassificationInferencer(CIFAR10, device='cpu')
    # Without weights asked for, the model builds.
    assert get_model(CIFAR10, pretrained=False).head.num_classes == 10


@pytest.fixture(scope='module')
def converted_checkpoint(tmp_path_factory, load_tool):
    """An official-layout SHIKE checkpoint (ResNet-32, 3 experts, 10
    classes, after the switch epoch) converted with our converter."""
    # The official layout comes from the converter's own test.
    layout = _load_script(
        osp.join(REPO_ROOT, 'tests', 'tools', 'test_shike_official_to_mm.py'),
        'official_layout')
    converter = load_tool('model_converters/shike_official_to_mm.py')
    root = tmp_path_factory.mktemp('converted')
    src, dst = root / 'official.pth.tar', root / 'converted.pth'
    torch.save(dict(epoch=200, state_dict=layout.official_state_dict()), src)
    converter.main([str(src), str(dst)])
    return str(dst)


def test_converted_official_checkpoint_loads_by_name(converted_checkpoint):
    saved = load_local_checkpoint(converted_checkpoint)['state_dict']
    model = get_model(CIFAR10, pretrained=converted_checkpoint)
    assert model.head.current_stage == 2
    loaded = model.state_dict()
    assert set(loaded) == set(saved)
    for key, value in saved.items():
        assert torch.equal(loaded[key], value), key

    image = np.random.default_rng(0).integers(
        0, 256, (32, 32, 3), dtype=np.uint8)
    inferencer = ImageClassificationInferencer(
        CIFAR10, pretrained=converted_checkpoint, device='cpu')
    result, = inferencer(image)
    assert result['pred_scores'].shape == (10, )
    assert result['pred_class'] == inferencer.classes[result['pred_label']]
    # ``inference_model`` picks the inferencer from the model's task.
    model_result = inference_model(model, image)
    assert model_result['pred_label'] == result['pred_label']
