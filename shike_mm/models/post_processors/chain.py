"""The post-processors a head applies to its logits, in order."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS


class PostProcessorChain(nn.ModuleList):
    """Post-processors applied in order to ``[B, C]`` logits before the
    softmax of a prediction.

    None of them has a persistent parameter or buffer, so a head with a
    chain loads and saves the same checkpoints as without.

    Args:
        post_processors (Sequence[dict | nn.Module]): Configs (e.g.
            ``dict(type='TemperatureScaling', temperature=1.5)``) or modules.
        num_classes (int, optional): The head's number of classes ``C``;
            post-processors with per-class settings check them against it
            (``check_num_classes``) when the head is built. Defaults to None
            (no check).
    """

    def __init__(self,
                 post_processors: Sequence[Union[dict, nn.Module]],
                 num_classes: Optional[int] = None):
        if isinstance(post_processors, (dict, nn.Module)):
            raise TypeError('post_processors must be a list of configs, e.g. '
                            "[dict(type='LogitAdjustment', tau=1.0)]")
        super().__init__([
            p if isinstance(p, nn.Module) else MODELS.build(p)
            for p in post_processors
        ])
        if num_classes is not None:
            for post_processor in self:
                if hasattr(post_processor, 'check_num_classes'):
                    post_processor.check_num_classes(num_classes)

    @property
    def needs_class_counts(self) -> bool:
        """Whether a post-processor's output depends on the training prior
        (so the counts must be set before predicting)."""
        return any(
            getattr(post_processor, 'needs_class_counts', False)
            for post_processor in self)

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Give the training counts to the post-processors that use them."""
        for post_processor in self:
            if hasattr(post_processor, 'set_class_counts'):
                post_processor.set_class_counts(counts)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        for post_processor in self:
            logits = post_processor(logits)
        return logits
