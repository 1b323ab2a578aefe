"""MMPretrain's inference APIs run shike_mm configs and checkpoints."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from helpers import REPO_ROOT
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain import ImageClassificationInferencer, inference_model
from mmpretrain.registry import DATASETS

import shike_mm  # noqa: F401  (registers the components)
from shike_mm.apis.inference import get_classifier

CONFIG = osp.join(REPO_ROOT, 'configs/shike/shike_r32_digits-lt.py')
DIGITS = tuple('0123456789')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """Random weights of the SHIKE digits model, saved in stage 2 (so the
    re-trained classifiers predict)."""
    model = get_classifier(CONFIG)
    model.head.set_stage(2)
    path = tmp_path_factory.mktemp('digits_ckpt') / 'random.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return str(path)


@pytest.fixture(scope='module')
def digit():
    """A real test digit as the config serves it (16x16x3 uint8), and its
    label."""
    init_default_scope('mmpretrain')
    dataset_cfg = Config.fromfile(CONFIG).test_dataloader.dataset
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=[]))
    info = dataset.get_data_info(0)
    return info['img'], info['gt_label']


def _assert_state_loaded(model, checkpoint):
    saved = torch.load(checkpoint, weights_only=True)['state_dict']
    loaded = model.state_dict()
    assert set(saved) == set(loaded)
    for key, value in saved.items():
        assert torch.equal(loaded[key].cpu(), value), key


def test_inferencer_takes_a_config_file_and_checkpoint(checkpoint, digit,
                                                       tmp_path):
    inferencer = ImageClassificationInferencer(
        CONFIG, pretrained=checkpoint, device='cpu')
    _assert_state_loaded(inferencer.model, checkpoint)
    assert inferencer.model.head.current_stage == 2
    assert tuple(inferencer.classes) == DIGITS

    image, _ = digit
    # A larger image file goes through the config's test pipeline, whose
    # Resize brings it back to the config's size.
    image_file = str(tmp_path / 'digit.png')
    mmcv.imwrite(mmcv.imresize(image, (64, 64)), image_file)
    from_array, from_file = inferencer([image, image_file])
    for result in (from_array, from_file):
        assert result['pred_scores'].shape == (10, )
        assert result['pred_scores'].sum() == pytest.approx(1.0, abs=1e-5)
        assert result['pred_class'] == DIGITS[result['pred_label']]


def test_inferencer_results_match_the_model_forward(checkpoint, digit):
    inferencer = ImageClassificationInferencer(
        CONFIG, pretrained=checkpoint, device='cpu')
    image, _ = digit
    sample, = inferencer(image, return_datasamples=True)

    model = get_classifier(CONFIG, checkpoint)
    inputs = torch.from_numpy(image).permute(2, 0, 1).contiguous()
    with torch.no_grad():
        expected, = model.test_step(dict(inputs=[inputs], data_samples=None))
    assert torch.allclose(sample.pred_score, expected.pred_score, atol=1e-6)
    # SHIKE's per-expert softmax scores come along with the prediction.
    assert sample.expert_scores.shape == (3, 10)
    assert torch.allclose(
        sample.expert_scores.sum(dim=1), torch.ones(3), atol=1e-5)


def test_inference_model_runs_a_classifier_from_a_shike_config(
        checkpoint, digit):
    model = get_classifier(
        'shike/shike_r32_digits-lt.py', checkpoint, device='cpu')
    _assert_state_loaded(model, checkpoint)
    image, _ = digit
    result = inference_model(model, image)
    reference, = ImageClassificationInferencer(model)(image)
    assert result['pred_class'] in DIGITS
    assert result['pred_label'] == reference['pred_label']
    np.testing.assert_allclose(
        result['pred_scores'], reference['pred_scores'], atol=1e-6)


def test_get_classifier_refuses_a_checkpoint_of_another_model(
        checkpoint, tmp_path):
    """The single-expert baseline's config cannot silently take the
    3-expert checkpoint."""
    from shike_mm.utils.checkpoint import CheckpointMismatchError
    baseline = osp.join(
        REPO_ROOT, 'configs/shike/shike_r32_digits-lt_single-expert-ce.py')
    with pytest.raises(CheckpointMismatchError) as error:
        get_classifier(baseline, checkpoint)
    assert str(error.value).startswith(
        f'Checkpoint {checkpoint} does not match the model: ')
    assert 'unexpected (neck.expert_stages.1.' in str(error.value)
    model = get_classifier(baseline, checkpoint, strict=False)
    assert model.head.num_experts == 1
