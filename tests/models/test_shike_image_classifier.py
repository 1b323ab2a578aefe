"""The SHIKE CIFAR model assembled by MMPretrain's ImageClassifier from
configs/_base_/models/shike_r32_cifar.py."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, MODELS
from mmpretrain.structures import DataSample

from shike_mm.apis.inference import get_classifier
from shike_mm.utils import find_config

NUM_CLASSES = 100
# Official ResNet_MoE(BasicBlock, [5, 5, 5]), 3 experts, CIFAR-100, with
# both classifier sets (spec 1.1).
OFFICIAL_PARAMETERS = 1_277_008


def _model_cfg(num_experts=3):
    cfg = Config.fromfile(
        find_config('_base_/models/shike_r32_cifar.py')).model
    cfg = copy.deepcopy(cfg)
    cfg.neck.num_experts = num_experts
    cfg.head.num_experts = num_experts
    return cfg


def _build(num_experts=3, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(_model_cfg(num_experts))


def _batch(batch_size=2):
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(batch_size, 3, 32, 32, generator=generator)
    samples = [
        DataSample().set_gt_label(label)
        for label in range(0, 7 * batch_size, 7)
    ]
    return inputs, samples


def test_parameter_count_matches_the_official_model():
    model = _build()
    assert sum(p.numel() for p in model.parameters()) == OFFICIAL_PARAMETERS
    classifier_params = sum(p.numel() for name, p in model.named_parameters()
                            if 'classifiers' in name)
    assert classifier_params == 2 * 3 * 64 * NUM_CLASSES


@pytest.mark.parametrize('num_experts', [1, 2, 3, 4])
def test_forward_modes(num_experts):
    model = _build(num_experts)
    inputs, samples = _batch()

    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_ce', 'loss_dkt', 'loss_mkd'}
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_dkt'] > 0
    if num_experts == 1:
        assert losses['loss_mkd'].item() == 0
    else:
        assert losses['loss_mkd'] > 0
    sum(losses.values()).backward()
    for name, param in model.named_parameters():
        trained_in_stage1 = 'retrain_classifiers' not in name
        assert (param.grad is not None) == trained_in_stage1, name

    model.eval()
    with torch.no_grad():
        logits = model(inputs, mode='tensor')
        experts = model.head.expert_logits(model.extract_feat(inputs))
        predictions = model(inputs, samples, mode='predict')
    # mode='tensor' gives the fused [B, C] logits, as exports expect.
    assert logits.shape == (2, NUM_CLASSES)
    assert experts.shape == (num_experts, 2, NUM_CLASSES)
    torch.testing.assert_close(logits, experts.mean(0))
    for b, sample in enumerate(predictions):
        assert sample.pred_score.shape == (NUM_CLASSES, )
        assert sample.expert_scores.shape == (num_experts, NUM_CLASSES)
        torch.testing.assert_close(sample.pred_score, logits[b].softmax(0))


def test_stage2_checkpoint_predicts_with_retrain_classifiers(tmp_path):
    model = _build(seed=0)
    model.eval()
    inputs, _ = _batch()
    with torch.no_grad():
        stage1_logits = model(inputs, mode='tensor')
    model.head.set_stage(2)
    checkpoint = tmp_path / 'stage2.pth'
    torch.save(model.state_dict(), checkpoint)

    fresh = _build(seed=1)
    fresh.load_state_dict(
        torch.load(checkpoint, weights_only=True), strict=True)
    fresh.eval()
    assert fresh.head.current_stage == 2
    with torch.no_grad():
        logits = fresh(inputs, mode='tensor')
        feats = fresh.extract_feat(inputs)
    expected = torch.stack([
        30.0 * classifier(feat)
        for classifier, feat in zip(fresh.head.retrain_classifiers, feats)
    ])
    torch.testing.assert_close(logits, expected.mean(0))
    assert not torch.allclose(logits, stage1_logits)


def test_tensor_mode_is_the_fused_prediction_of_the_digits_model():
    """What an exporter sees (tests/apis/test_onnx_export.py): mode='tensor'
    gives the [B, C] logits whose softmax predict() returns, here for the
    digits model in stage 2."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = get_classifier(find_config('shike/shike_r32_digits-lt.py'))
    model.head.set_stage(2)  # predict with the re-trained classifiers
    model.eval()
    dataset = DATASETS.build(
        dict(
            type='DigitsLT', split='test', pipeline=[dict(type='PackInputs')]))
    inputs = model.data_preprocessor(
        dict(
            inputs=[dataset[i]['inputs'] for i in range(4)],
            data_samples=[dataset[i]['data_samples']
                          for i in range(4)]))['inputs']
    with torch.no_grad():
        logits = model(inputs, mode='tensor')
        scores = torch.stack(
            [sample.pred_score for sample in model(inputs, mode='predict')])
    assert logits.shape == (4, 10)
    torch.testing.assert_close(logits.softmax(dim=1), scores)
