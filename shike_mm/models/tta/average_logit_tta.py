"""Test-time augmentation that averages the views' logits (LIFT's
five-crop ensemble), not their scores."""
from typing import List

import torch
from mmpretrain.registry import MODEL_WRAPPERS, MODELS
from mmpretrain.structures import DataSample

from .expert_score_tta import AverageExpertScoreTTA


def average_logits_of_scores(scores: torch.Tensor) -> torch.Tensor:
    """``softmax(mean_v z_v)`` from the views' scores ``softmax(z_v)``.

    ``log softmax(z_v) = z_v - logsumexp(z_v)`` shifts every class of view
    ``v`` by the same amount, so the softmax of the mean log-score is the
    softmax of the mean logits. A score that underflowed to 0 (a class
    more than ~87 (float32) below the view's best) counts as the smallest
    positive number instead of ``-inf``.

    Args:
        scores (Tensor): ``[V, ..., C]`` per-view scores.

    Returns:
        Tensor: ``[..., C]`` scores of the averaged logits.
    """
    tiny = torch.finfo(scores.dtype).tiny
    return torch.softmax(scores.clamp_min(tiny).log().mean(dim=0), dim=-1)


@MODELS.register_module()
@MODEL_WRAPPERS.register_module()
class AverageLogitTTA(AverageExpertScoreTTA):
    """Average the logits of a sample's augmented views, as LIFT's five-crop
    and ten-crop test-time ensembles do (MMPretrain's
    ``AverageClsScoreTTA`` averages the softmax scores).

    The logits are recovered from each view's ``pred_score`` up to a
    per-view constant (see :func:`average_logits_of_scores`), so it works
    with every head, post-processed predictions included; ``pred_label``
    is the argmax of the merged score and ``expert_scores`` (multi-expert
    heads) are merged the same way, each expert's own logits averaged.

    Args:
        module (dict | nn.Module): The model to wrap.
        data_preprocessor (dict | nn.Module, optional): Its data
            preprocessor. Defaults to None.
    """

    def _merge_single_sample(self,
                             data_samples: List[DataSample]) -> DataSample:
        merged = data_samples[0].new()
        score = average_logits_of_scores(
            torch.stack([sample.pred_score for sample in data_samples]))
        merged.set_pred_score(score)
        merged.set_pred_label(score.argmax(dim=-1, keepdim=True))
        if all('expert_scores' in sample for sample in data_samples):
            merged.set_field(
                average_logits_of_scores(
                    torch.stack([s.expert_scores for s in data_samples])),
                'expert_scores')
        return merged
