"""AverageExpertScoreTTA averages scores, experts' included, and is a
model wrapper so that checkpoints of the wrapped model load."""
import torch
from mmengine.model import is_model_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import shike_mm  # noqa: F401  (registers the TTA model)


def _view(score, experts):
    sample = DataSample().set_gt_label(1)
    sample.set_pred_score(torch.tensor(score)).set_pred_label(
        torch.tensor(score).argmax(keepdim=True))
    sample.set_field(torch.tensor(experts), 'expert_scores')
    return sample


def test_merges_scores_labels_and_expert_scores():
    init_default_scope('mmpretrain')
    tta = MODELS.build(
        dict(
            type='AverageExpertScoreTTA',
            module=dict(
                type='ImageClassifier',
                backbone=dict(type='ResNet_CIFAR', depth=18))))
    views = [
        _view([0.6, 0.4], [[0.7, 0.3], [0.5, 0.5]]),
        _view([0.1, 0.9], [[0.2, 0.8], [0.0, 1.0]]),
    ]
    (merged, ) = tta.merge_preds([views])
    torch.testing.assert_close(merged.pred_score, torch.tensor([0.35, 0.65]))
    # The first view's label was 0; the averaged score says 1.
    assert merged.pred_label.tolist() == [1]
    torch.testing.assert_close(merged.expert_scores,
                               torch.tensor([[0.45, 0.55], [0.25, 0.75]]))
    assert merged.gt_label.tolist() == [1]
    assert is_model_wrapper(tta)
