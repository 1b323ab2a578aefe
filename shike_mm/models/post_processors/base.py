"""What the post-processors that need the training prior share."""
from typing import Sequence

import torch
import torch.nn as nn

from ..utils.prior import log_prior_from_counts


class TrainPriorPostProcessor(nn.Module):
    """A logit post-processor that may need the training prior ``pi``.

    ``pi`` comes from the per-class training counts, by the same road as
    everywhere in shike_mm: :class:`~shike_mm.engine.hooks.ClassCountsHook`
    gives them to the head, which passes them on through
    :meth:`set_class_counts`. The log prior is a non-persistent buffer, so
    post-processors never change a checkpoint's keys.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer('log_train_prior', None, persistent=False)

    @property
    def needs_class_counts(self) -> bool:
        """Whether its output depends on the training prior."""
        return True

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Store ``log pi`` of the training counts ``[C]``."""
        self.log_train_prior = log_prior_from_counts(counts)

    def train_log_prior(self, logits: torch.Tensor) -> torch.Tensor:
        """``log pi`` as ``[C]`` in the dtype and device of ``logits``.

        Raises:
            RuntimeError: If the counts were never set.
            ValueError: If they hold another number of classes.
        """
        name = type(self).__name__
        if self.log_train_prior is None:
            raise RuntimeError(
                f'{name} needs the training class counts: in a run '
                '(tools/train.py, tools/test.py) ClassCountsHook hands them '
                'to the head; elsewhere call '
                'head.set_class_counts(counts) with the counts of '
                'shike_mm.datasets.class_counts.trained_class_counts('
                "checkpoint['meta'].get('train_class_counts'), "
                'cfg.train_dataloader.dataset), as the tools in '
                'tools/analysis_tools do')
        if len(self.log_train_prior) != logits.shape[-1]:
            raise ValueError(
                f'{name}: {len(self.log_train_prior)} training class counts '
                f'for logits of {logits.shape[-1]} classes')
        return self.log_train_prior.to(logits)
