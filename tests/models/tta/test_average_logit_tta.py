"""The crop ensemble averages the views' logits: through the test pipeline
of tools/test.py (resize, TestTimeAug over CropView, PackInputs) and
AverageLogitTTA, a sample's prediction is the softmax of the mean of its
five (or ten) crops' logits computed by hand."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from shike_mm.datasets.transforms import crop_ensemble_pipeline
from shike_mm.models.tta.average_logit_tta import average_logits_of_scores

TEST_PIPELINE = [
    dict(type='ResizeEdge', scale=20, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=16),
    dict(type='PackInputs'),
]


def _model():
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            data_preprocessor=dict(
                num_classes=5, mean=[100.] * 3, std=[50.] * 3, to_rgb=True),
            backbone=dict(
                type='VisionTransformer',
                arch=dict(
                    embed_dims=16,
                    num_layers=1,
                    num_heads=2,
                    feedforward_channels=32),
                img_size=16,
                patch_size=8,
                out_type='cls_token'),
            head=dict(
                type='CosineClsHead', num_classes=5, in_channels=16,
                scale=25.)))
    return model.eval()


def _hand_crops(image, views):
    """torchvision's FiveCrop / TenCrop of ``image`` resized to short side
    20 (here 20x30), crop 16: corners and centre, written out."""
    resized = Compose([TEST_PIPELINE[0]])(dict(img=image))['img']
    height, width = resized.shape[:2]
    assert (height, width) == (20, 30)
    sources = [resized] if views == 'five' else [resized, resized[:, ::-1]]
    crops = []
    for source in sources:
        for top, left in [(0, 0), (0, width - 16), (height - 16, 0),
                          (height - 16, width - 16), (2, 7)]:
            crops.append(source[top:top + 16, left:left + 16])
    return crops


@pytest.mark.parametrize('views', ['five', 'ten'])
def test_prediction_is_the_softmax_of_the_mean_crop_logits(views):
    model = _model()
    image = np.random.default_rng(0).integers(
        0, 256, (40, 60, 3), dtype=np.uint8)
    pipeline = Compose(crop_ensemble_pipeline(TEST_PIPELINE, views, 20))
    sample = pipeline(dict(img=image, gt_label=3))
    assert len(sample['inputs']) == (5 if views == 'five' else 10)

    tta = MODELS.build(dict(type='AverageLogitTTA', module=model))
    (merged, ) = tta.test_step(pseudo_collate([sample]))

    crops = torch.stack([
        torch.from_numpy(np.ascontiguousarray(c)).permute(2, 0, 1)
        for c in _hand_crops(image, views)
    ])
    with torch.no_grad():
        inputs = model.data_preprocessor(dict(inputs=list(crops)))['inputs']
        logits = model(inputs, mode='tensor')
    expected = F.softmax(logits.mean(dim=0), dim=0)
    torch.testing.assert_close(merged.pred_score, expected, atol=1e-6, rtol=0)
    assert merged.pred_label.item() == expected.argmax().item()
    assert merged.gt_label.item() == 3
    # not the average of the scores, which MMPretrain's TTA computes
    assert not torch.allclose(
        merged.pred_score, F.softmax(logits, dim=1).mean(dim=0), atol=1e-6)


def test_average_of_log_scores_is_the_softmax_of_mean_logits():
    logits = torch.randn(5, 3, 7, dtype=torch.float64) * 10
    scores = F.softmax(logits, dim=-1)
    torch.testing.assert_close(
        average_logits_of_scores(scores), F.softmax(logits.mean(0), dim=-1))


def test_expert_scores_are_merged_as_logits():
    init_default_scope('mmpretrain')
    tta = MODELS.build(
        dict(
            type='AverageLogitTTA',
            module=dict(
                type='ImageClassifier',
                backbone=dict(type='ResNet_CIFAR', depth=18))))
    logits = torch.randn(2, 3, 4)  # views, experts, classes
    views = []
    for view in logits:
        sample = DataSample().set_pred_score(F.softmax(view.mean(0), -1))
        sample.set_field(F.softmax(view, dim=-1), 'expert_scores')
        views.append(sample)
    (merged, ) = tta.merge_preds([views])
    torch.testing.assert_close(merged.expert_scores,
                               F.softmax(logits.mean(0), dim=-1))
    torch.testing.assert_close(merged.pred_score,
                               F.softmax(logits.mean((0, 1)), dim=-1))
