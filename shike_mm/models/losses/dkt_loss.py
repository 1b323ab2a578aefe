"""SHIKE's DKT loss: non-target distillation from an elected teacher with
hardest-negative suppression."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .utils import (check_expert_logits, check_reduction, reduce_kl,
                    upcast_logits)


@MODELS.register_module()
class DKTLoss(nn.Module):
    """Distil every expert's non-target distribution from an elected teacher.

    With ``z`` the expert logits ``[M, B, C]``, target ``y`` and
    ``zbar = z.mean(0)``:

    1. The consensus hardest negative ``h`` is the argmax of ``zbar`` with
       the target entry set to ``-scale``.
    2. The teacher logits ``t`` are the per-class max over experts, except
       ``t_h = zbar_h`` (the mean, which suppresses the hardest negative)
       and ``t_y = 0``.
    3. Each expert's student logits are ``z_m`` with the target entry set
       to ``-scale``.
    4. The loss is ``loss_weight * sum_m KL(softmax(t) || softmax(student_m))``
       reduced over batch and classes.

    All of this, including the teacher's target logit 0, follows the SHIKE
    code. As there, gradients reach the experts through both teacher and
    students unless ``detach_teacher`` is set.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 10.0.
        scale (float): Cosine-logit scale of the head; ``-scale`` masks the
            target. Defaults to 30.0.
        reduction (str): ``'mean'`` divides the summed KL by ``B * C``, as
            the SHIKE code (``F.kl_div``'s default); ``'batchmean'`` divides
            by ``B``, so a faithful weight is then ``10 / C``.
            Defaults to ``'mean'``.
        detach_teacher (bool): Stop gradients through the teacher logits
            (a deviation from the SHIKE code, for ablations).
            Defaults to False.

    Inputs:
        logits (Tensor): Expert logits ``[M, B, C]``.
        target (Tensor): Class indices ``[B]``.

    Returns:
        Tensor: The scalar loss, float32 for half-precision logits.
    """

    def __init__(self,
                 loss_weight: float = 10.0,
                 scale: float = 30.0,
                 reduction: str = 'mean',
                 detach_teacher: bool = False):
        super().__init__()
        check_reduction(reduction)
        self.loss_weight = loss_weight
        self.scale = scale
        self.reduction = reduction
        self.detach_teacher = detach_teacher

    def teacher_logits(self, logits: torch.Tensor,
                       target_mask: torch.Tensor) -> torch.Tensor:
        """Elected teacher logits ``[B, C]`` from expert logits
        ``[M, B, C]`` and the boolean one-hot target ``[B, C]``."""
        mean_logits = logits.mean(dim=0)
        hardest = mean_logits.masked_fill(target_mask, -self.scale).argmax(1)
        hardest_mask = F.one_hot(hardest, logits.size(-1)).bool()
        teacher = torch.where(hardest_mask, mean_logits,
                              logits.max(dim=0).values)
        return teacher.masked_fill(target_mask, 0.0)

    def forward(self, logits: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        check_expert_logits(logits, target)
        logits = upcast_logits(logits)
        _, batch_size, num_classes = logits.shape
        target_mask = F.one_hot(target, num_classes).bool()

        teacher = self.teacher_logits(logits, target_mask)
        if self.detach_teacher:
            teacher = teacher.detach()
        log_p = F.log_softmax(teacher, dim=-1)
        log_q = F.log_softmax(
            logits.masked_fill(target_mask, -self.scale), dim=-1)
        # Broadcast the teacher [B, C] over the experts [M, B, C].
        kl_sum = (log_p.exp() * (log_p - log_q)).sum()
        return self.loss_weight * reduce_kl(kl_sum, batch_size, num_classes,
                                            self.reduction)
