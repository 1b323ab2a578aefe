"""Correction of the scores for a known test prior."""
from typing import Sequence, Union

import torch
from mmpretrain.registry import MODELS

from ..utils.prior import TRAINED_ON, load_prior
from .base import TrainPriorPostProcessor


@MODELS.register_module()
class TargetPriorAdjustment(TrainPriorPostProcessor):
    """Bayes' rule for a known test prior ``q``:

    - ``s_y = f_y + log q_y - log pi_y`` for a model trained with plain
      cross-entropy on the training prior ``pi`` (``trained_on='train'``);
    - ``s_y = f_y + log q_y`` for a model trained to be balanced
      (``trained_on='balanced'``: Balanced Softmax, logit-adjusted losses,
      SHIKE after stage 2), whose scores assume a uniform prior.

    A class with ``q_y = 0`` gets no probability.

    Args:
        target_prior (Sequence[float] | str): ``[C]`` test prior summing to
            1, or a JSON file with a ``prior`` list (as
            ``tools/analysis_tools/prior_shift_eval.py --estimate-prior``
            writes for a prior estimated by EM).
        trained_on (str): ``'train'`` or ``'balanced'``, see above.
            Defaults to ``'balanced'``.

    Inputs:
        logits (Tensor): ``[B, C]``.

    Returns:
        Tensor: ``[B, C]`` adjusted logits.
    """

    def __init__(self,
                 target_prior: Union[Sequence[float], str],
                 trained_on: str = 'balanced') -> None:
        super().__init__()
        if trained_on not in TRAINED_ON:
            raise ValueError(f'TargetPriorAdjustment.trained_on must be one '
                             f'of {TRAINED_ON}, got {trained_on!r}')
        self.trained_on = trained_on
        self.register_buffer(
            'log_target_prior',
            load_prior(target_prior,
                       'TargetPriorAdjustment.target_prior').log(),
            persistent=False)

    def check_num_classes(self, num_classes: int) -> None:
        """Refuse a ``target_prior`` without one entry per class."""
        if len(self.log_target_prior) != num_classes:
            raise ValueError(
                f'TargetPriorAdjustment.target_prior has '
                f'{len(self.log_target_prior)} entries, but the head has '
                f'num_classes={num_classes}; give one probability per class')

    @property
    def needs_class_counts(self) -> bool:
        """Whether it removes the training prior (``trained_on='train'``).
        """
        return self.trained_on == 'train'

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        if len(self.log_target_prior) != logits.shape[-1]:
            raise ValueError(
                f'TargetPriorAdjustment.target_prior has '
                f'{len(self.log_target_prior)} entries for logits of '
                f'{logits.shape[-1]} classes')
        shift = self.log_target_prior.to(logits)
        if self.trained_on == 'train':
            shift = shift - self.train_log_prior(logits)
        return logits + shift

    def extra_repr(self) -> str:
        return f'trained_on={self.trained_on!r}'
