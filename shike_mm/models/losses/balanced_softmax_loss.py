"""Balanced Softmax and logit adjustment: cross-entropy on logits shifted by
``tau`` times the log class counts."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .utils import upcast_logits


@MODELS.register_module()
@MODELS.register_module(name='LogitAdjustedLoss')
class BalancedSoftmaxLoss(nn.Module):
    """Cross-entropy of ``logits + tau * log(class_counts)``, summed over
    experts.

    Each expert's loss is a batch mean; the expert losses are summed, as in
    SHIKE's classifier re-training stage. Classes with zero count get a
    ``-inf`` shifted logit, i.e. no probability mass.

    ``tau = 1`` (the default) is Balanced Softmax (Ren et al., NeurIPS
    2020). Any ``tau`` is the logit-adjusted loss of Menon et al. (ICLR
    2021), ``CE(z + tau * log(pi), y)`` with the class prior ``pi = n / N``,
    which LIFT trains with (``tau = 1``): ``tau * log(pi)`` and
    ``tau * log(n)`` differ by ``tau * log(N)``, the same for every class,
    which cross-entropy ignores. The class is registered under both names,
    ``BalancedSoftmaxLoss`` and ``LogitAdjustedLoss``.

    ``expert_taus`` gives each expert ``m`` its own strength, the
    cross-entropy of ``logits_m + tau_m * log(class_counts)`` (BalPoE,
    Sanchez Aimar et al., CVPR 2023): ``tau = 0`` is plain cross-entropy
    (a head-biased expert), 1 Balanced Softmax, 2 a tail-biased expert.
    With taus averaging 1, such as ``(0, 1, 2)``, the mean of the expert
    logits is adjusted as much as one Balanced-Softmax expert's.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        tau (float): Strength of every expert's adjustment, at least 0.
            Defaults to 1.0 (Balanced Softmax; SHIKE and LIFT).
        expert_taus (Sequence[float], optional): One ``tau`` per expert,
            instead of ``tau``. Defaults to None.

    Inputs:
        logits (Tensor): Expert logits ``[M, B, C]``, or ``[B, C]`` for one.
        target (Tensor): Class indices ``[B]``.
        class_counts (Tensor): Training samples per class ``[C]``.

    Returns:
        Tensor: The scalar loss, float32 for half-precision logits.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 tau: float = 1.0,
                 expert_taus: Optional[Sequence[float]] = None):
        super().__init__()
        self.loss_weight = loss_weight
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or \
                not tau >= 0:
            raise ValueError(f'{type(self).__name__}.tau must be a '
                             f'non-negative number, got {tau!r}')
        self.tau = float(tau)
        if expert_taus is not None:
            if self.tau != 1.0:
                raise ValueError(
                    f'{type(self).__name__}: give tau (one strength for '
                    'every expert) or expert_taus (one per expert), not '
                    f'both; got tau={tau} and expert_taus={expert_taus}')
            expert_taus = tuple(float(tau) for tau in expert_taus)
            if not expert_taus or not all(tau >= 0 for tau in expert_taus):
                raise ValueError('BalancedSoftmaxLoss.expert_taus must be '
                                 f'non-negative numbers, got {expert_taus}')
        self.expert_taus = expert_taus

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
        log_counts = class_counts.to(logits).log()
        if self.expert_taus is None:
            taus = [self.tau] * num_experts
        elif len(self.expert_taus) != num_experts:
            raise ValueError(
                f'BalancedSoftmaxLoss.expert_taus has '
                f'{len(self.expert_taus)} entries for {num_experts} '
                'experts')
        else:
            taus = self.expert_taus
        taus = logits.new_tensor(taus)[:, None, None]
        # tau = 0 leaves even a zero-count class alone (0 * -inf).
        shifted = logits + torch.where(taus == 0, 0.0, taus * log_counts)
        loss_sum = F.cross_entropy(
            shifted.reshape(-1, num_classes),
            target.repeat(num_experts),
            reduction='sum')
        return self.loss_weight * loss_sum / batch_size
