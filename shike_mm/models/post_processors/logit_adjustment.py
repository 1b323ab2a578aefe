"""Post-hoc logit adjustment."""
import torch
from mmpretrain.registry import MODELS

from .base import TrainPriorPostProcessor


@MODELS.register_module()
class LogitAdjustment(TrainPriorPostProcessor):
    """Post-hoc logit adjustment (Menon et al., ICLR 2021):
    ``s_y = f_y - tau * log pi_y``.

    For a model trained with plain cross-entropy on the training prior
    ``pi``: ``tau = 1`` turns its scores into a posterior under a uniform
    test prior; ``tau = 0`` is the identity. A model trained to be balanced
    already (Balanced Softmax, SHIKE after stage 2) would be adjusted
    twice.

    Args:
        tau (float): Adjustment strength, >= 0. Defaults to 1.0.

    Inputs:
        logits (Tensor): ``[B, C]``.

    Returns:
        Tensor: ``[B, C]`` adjusted logits.
    """

    def __init__(self, tau: float = 1.0) -> None:
        super().__init__()
        if not tau >= 0:
            raise ValueError(f'LogitAdjustment.tau must be >= 0, got {tau}')
        self.tau = float(tau)

    @property
    def needs_class_counts(self) -> bool:
        """Whether it adjusts at all (``tau > 0``)."""
        return self.tau != 0

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        if self.tau == 0:
            return logits
        return logits - self.tau * self.train_log_prior(logits)

    def extra_repr(self) -> str:
        return f'tau={self.tau}'
