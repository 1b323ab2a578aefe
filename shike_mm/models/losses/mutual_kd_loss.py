"""Mutual knowledge distillation between all ordered pairs of experts."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .utils import check_reduction, reduce_kl, upcast_logits


class _PairwiseKLSum(torch.autograd.Function):
    """``sum_{i != j} KL(p_j || p_i)`` summed over batch and classes, with
    ``p_m = softmax(z_m)``, in ``O(M * B * C)`` memory.

    Writing ``l_m = log_softmax(z_m)`` and ``t_m = M * l_m - sum_i l_i``
    (``= sum_i (l_m - l_i)``, so the diagonal pairs add exactly 0), the sum
    is ``sum_m <p_m, t_m>``. Its gradient with respect to ``z_k`` is
    ``p_k * (t_k - <p_k, t_k>) + M * p_k - sum_j p_j``; with the teacher
    side detached only ``M * p_k - sum_j p_j`` remains. Only ``l`` is kept
    for the backward pass, and both passes loop over experts, so nothing of
    size ``[M, M, B, C]`` (nor a second ``[M, B, C]`` buffer in the forward
    pass) is ever allocated.
    """

    @staticmethod
    def forward(ctx, logits: torch.Tensor,
                detach_teacher: bool) -> torch.Tensor:
        # Full precision whatever autocast context the head runs in.
        with torch.autocast(logits.device.type, enabled=False):
            log_prob = F.log_softmax(logits, dim=-1)
            log_prob_sum = log_prob.sum(dim=0)
            num_experts = log_prob.size(0)
            total = log_prob.new_zeros(())
            for expert_log_prob in log_prob:
                total += (
                    expert_log_prob.exp() *
                    (num_experts * expert_log_prob - log_prob_sum)).sum()
        ctx.save_for_backward(log_prob)
        ctx.detach_teacher = detach_teacher
        return total

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (log_prob, ) = ctx.saved_tensors
        num_experts = log_prob.size(0)
        prob_sum = log_prob.exp().sum(dim=0)
        log_prob_sum = log_prob.sum(dim=0)
        grad = torch.empty_like(log_prob)
        for expert_grad, expert_log_prob in zip(grad, log_prob):
            prob = expert_log_prob.exp()
            # The student side of every pair: M * p_k - sum_j p_j.
            torch.sub(num_experts * prob, prob_sum, out=expert_grad)
            if not ctx.detach_teacher:
                pair_sum = num_experts * expert_log_prob - log_prob_sum
                pair_sum -= (prob * pair_sum).sum(dim=-1, keepdim=True)
                expert_grad += prob * pair_sum
        return grad.mul_(grad_output), None


@MODELS.register_module()
class MutualKDLoss(nn.Module):
    """KL divergence between every ordered pair of experts.

    ``loss_weight * sum_{i != j} KL(softmax(z_j) || softmax(z_i))`` reduced
    over batch and classes, so every unordered pair counts in both
    directions, as in the SHIKE code. Gradients reach both sides of each
    pair unless ``detach_teacher`` is set. With one expert the loss is 0.

    The sum over pairs is computed in closed form from per-expert
    log-probabilities (``log_softmax``, safe with saturated scale-30 cosine
    logits), in ``O(M * B * C)`` memory rather than ``O(M^2 * B * C)``.

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
        _, batch_size, num_classes = logits.shape
        kl_sum = _PairwiseKLSum.apply(logits, self.detach_teacher)
        return self.loss_weight * reduce_kl(kl_sum, batch_size, num_classes,
                                            self.reduction)
