"""ONNX export: the exported graph gives predict()'s scores, post-processors
included, for SHIKE and for an MMPretrain head; heads it cannot export are
refused."""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from shike_mm.apis.onnx_export import (PredictionScores, export_onnx,
                                       max_score_difference, onnx_scores,
                                       predict_scores)
from shike_mm.utils import find_config
from shike_mm.utils.cli import load_config

onnxruntime = pytest.importorskip('onnxruntime')

COUNTS = [124, 88, 63, 45, 32, 23, 16, 12, 8, 6]
POST_PROCESSORS = [
    dict(type='TemperatureScaling', temperature=1.5),
    dict(type='LogitAdjustment', tau=1.0),
]


def _inputs(batch, size=32, seed=0):
    return torch.randn(
        batch, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _reference_scores(model, inputs):
    """The softmax of the post-processed logits, from the formulas:
    ``(f / T) - tau * log pi`` with ``f`` the head's fused logits."""
    log_prior = torch.log(torch.tensor(COUNTS, dtype=torch.float64) / 417)
    with torch.no_grad():
        logits = model(inputs, mode='tensor').double()
    return torch.softmax(logits / 1.5 - log_prior, dim=1)


@pytest.fixture(scope='module')
def shike_model():
    """The digits SHIKE model in stage 2, with temperature scaling and logit
    adjustment."""
    cfg = load_config('shike/shike_r32_digits-lt.py')
    cfg.model.head.post_processors = POST_PROCESSORS
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.head.set_stage(2)
    model.head.set_class_counts(COUNTS)
    return model.eval()


@pytest.fixture(scope='module')
def linear_head_model():
    """A tiny MMPretrain classifier whose LinearClsHead has logit
    adjustment through PostProcessedHead."""
    cfg = load_config(find_config('configs/smoke/tiny-resnet_fake-images.py'))
    head = cfg.model.head
    cfg.model.head = dict(
        type='PostProcessedHead',
        head=dict(head, num_classes=10),
        post_processors=POST_PROCESSORS)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.head.set_class_counts(COUNTS)
    return model.eval()


@pytest.mark.parametrize('name', ['shike_model', 'linear_head_model'])
def test_exported_scores_are_predicts_post_processed_scores(
        name, request, tmp_path):
    model = request.getfixturevalue(name)
    path = str(tmp_path / f'{name}.onnx')
    export_onnx(model, path, (2, 3, 32, 32))
    for batch in (3, 1):  # other batch sizes through the dynamic axis
        inputs = _inputs(batch, seed=batch)
        expected = _reference_scores(model, inputs).numpy()
        np.testing.assert_allclose(
            predict_scores(model, inputs).numpy(), expected, atol=1e-5)
        np.testing.assert_allclose(
            onnx_scores(path, inputs), expected, atol=1e-5)
        assert max_score_difference(model, path, inputs) < 1e-5
    # The post-processors matter here: without them the scores differ.
    with torch.no_grad():
        plain = model(inputs, mode='tensor').softmax(dim=1).numpy()
    assert np.abs(plain - expected).max() > 0.05


def test_exported_graph_follows_the_heads_stage_and_expert_weights(
        shike_model, tmp_path):
    inputs = _inputs(2)
    shike_model.head.set_stage(1)
    try:
        stage1 = str(tmp_path / 'stage1.onnx')
        export_onnx(shike_model, stage1, (2, 3, 32, 32))
        assert max_score_difference(shike_model, stage1, inputs) < 1e-5
    finally:
        shike_model.head.set_stage(2)
    stage2 = str(tmp_path / 'stage2.onnx')
    export_onnx(shike_model, stage2, (2, 3, 32, 32))
    assert np.abs(onnx_scores(stage1, inputs) -
                  onnx_scores(stage2, inputs)).max() > 1e-3


def test_a_head_without_softmax_predictions_is_refused():
    init_default_scope('mmpretrain')
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='LeNet5'),
            head=dict(
                type='MultiLabelLinearClsHead', num_classes=4,
                in_channels=84)))
    with pytest.raises(TypeError, match='softmax head'):
        PredictionScores(model)


def test_dynamo_exporter_without_onnxscript_says_what_to_install(
        shike_model, tmp_path):
    try:
        import onnxscript  # noqa: F401
        pytest.skip('onnxscript is installed')
    except ImportError:
        pass
    with pytest.raises(ImportError, match='pip install onnxscript'):
        export_onnx(
            shike_model,
            str(tmp_path / 'm.onnx'), (1, 3, 32, 32),
            exporter='dynamo')
    assert not (tmp_path / 'm.onnx').exists()
