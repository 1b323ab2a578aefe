"""Mutual knowledge distillation between all ordered pairs of experts."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .utils import check_reduction, reduce_kl, upcast_logits


@MODELS.register_module()
class MutualKDLoss(nn.Module):
    """KL divergence between every ordered pair of experts.

    ``loss_weight * sum_{i != j} KL(softmax(z_j) || softmax(z_i))`` reduced
    over batch and classes, so every unordered pair counts in both
    directions, as in the SHIKE code. Gradients reach both sides of each
    pair unless ``detach_teacher`` is set. With one expert the loss is 0.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        reduction (str): ``'mean'`` divides the summed KL by ``B * C``, as
            the SHIKE code (``F.kl_div``'s default); ``'batchmean'`` divides
            by ``B``, so a faithful weight is then ``1 / C``.
            Defaults to ``'mean'``.
        detach_teacher (bool): Stop gradients through the teacher side
            ``softmax(z_j)`` of every pair (a deviation from the SHIKE code,
            for ablations). Defaults to False.

    Inputs:
        logits (Tensor): Expert logits ``[M, B, C]``.

    Returns:
        Tensor: The scalar loss, float32 for half-precision logits.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 detach_teacher: bool = False):
        super().__init__()
        check_reduction(reduction)
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.detach_teacher = detach_teacher

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        if logits.dim() != 3:
            raise ValueError('Expected expert logits of shape [M, B, C], '
                             f'got {tuple(logits.shape)}')
        logits = upcast_logits(logits)
        num_experts, batch_size, num_classes = logits.shape
        log_prob = F.log_softmax(logits, dim=-1)
        log_teacher = log_prob.detach() if self.detach_teacher else log_prob
        # pair_kl[j, i] = KL(p_j || p_i) per sample and class: [M, M, B, C].
        pair_kl = log_teacher.exp()[:, None] * (
            log_teacher[:, None] - log_prob[None, :])
        off_diagonal = ~torch.eye(
            num_experts, dtype=torch.bool, device=logits.device)
        kl_sum = pair_kl[off_diagonal].sum()
        return self.loss_weight * reduce_kl(kl_sum, batch_size, num_classes,
                                            self.reduction)
