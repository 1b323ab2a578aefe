"""Test-time augmentation that averages scores, experts' included, and
loads the checkpoints of the model it wraps."""
from typing import List

import torch
from mmpretrain.models.tta import AverageClsScoreTTA
from mmpretrain.registry import MODEL_WRAPPERS, MODELS
from mmpretrain.structures import DataSample


@MODELS.register_module()
@MODEL_WRAPPERS.register_module()
class AverageExpertScoreTTA(AverageClsScoreTTA):
    """Average the scores of a sample's augmented views.

    MMPretrain's :class:`AverageClsScoreTTA` averages ``pred_score`` but
    keeps the first view's ``pred_label`` and other fields. This class
    also sets ``pred_label`` from the averaged score and averages
    ``expert_scores`` (``[M, C]``, multi-expert heads such as SHIKEHead)
    when the views carry them.

    It is registered as a model wrapper too: MMEngine's Runner loads a
    checkpoint into ``runner.model`` and unwraps only model wrappers, so a
    plain TTA model would receive the wrapped model's keys under its own
    ``module.`` prefix and load none of them.

    Args:
        module (dict | nn.Module): The model to wrap.
        data_preprocessor (dict | nn.Module, optional): Its data
            preprocessor. Defaults to None.
    """

    def _merge_single_sample(self,
                             data_samples: List[DataSample]) -> DataSample:
        merged = super()._merge_single_sample(data_samples)
        merged.set_pred_label(merged.pred_score.argmax(dim=-1, keepdim=True))
        if all('expert_scores' in sample for sample in data_samples):
            merged.set_field(
                torch.stack([s.expert_scores for s in data_samples]).mean(0),
                'expert_scores')
        return merged
