"""Balanced Softmax: cross-entropy on logits shifted by the log class
counts."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .utils import upcast_logits


@MODELS.register_module()
class BalancedSoftmaxLoss(nn.Module):
    """Cross-entropy of ``logits + log(class_counts)``, summed over experts.

    Each expert's loss is a batch mean; the expert losses are summed, as in
    SHIKE's classifier re-training stage. Classes with zero count get a
    ``-inf`` shifted logit, i.e. no probability mass.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.

    Inputs:
        logits (Tensor): Expert logits ``[M, B, C]``, or ``[B, C]`` for one.
        target (Tensor): Class indices ``[B]``.
        class_counts (Tensor): Training samples per class ``[C]``.

    Returns:
        Tensor: The scalar loss, float32 for half-precision logits.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor,
                class_counts: torch.Tensor) -> torch.Tensor:
        if logits.dim() == 2:
            logits = logits[None]
        if logits.dim() != 3 or class_counts.shape != logits.shape[-1:]:
            raise ValueError(
                f'Expected logits [M, B, C] and class_counts [C], got '
                f'{tuple(logits.shape)} and {tuple(class_counts.shape)}')
        logits = upcast_logits(logits)
        num_experts, batch_size, num_classes = logits.shape
        shifted = logits + class_counts.to(logits).log()
        loss_sum = F.cross_entropy(
            shifted.reshape(-1, num_classes),
            target.repeat(num_experts),
            reduction='sum')
        return self.loss_weight * loss_sum / batch_size
