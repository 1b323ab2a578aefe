"""Cosine classifier head, optionally initialised from class text
embeddings (LIFT)."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..losses import BalancedSoftmaxLoss
from ..utils import NormedLinear
from ..utils.text_classifier import load_text_classifier


@MODELS.register_module()
class CosineClsHead(ClsHead):
    """Scaled cosine similarity between the feature and each class vector,
    ``logits = scale * <x / |x|, w_c / |w_c|>``.

    The class vectors start random (uniform, unit norm), or, with
    ``text_weights``, from the class text embeddings that
    ``tools/misc/clip_text_classifier.py`` computes with CLIP's text tower
    (LIFT's initialisation); they are loaded by :meth:`init_weights`, i.e.
    before training, and a file of another shape is an error.

    A loss of the :class:`~shike_mm.models.losses.BalancedSoftmaxLoss` kind
    (``LogitAdjustedLoss``) receives the training class counts, which
    ``ClassCountsHook`` hands to :meth:`set_class_counts`.

    Args:
        num_classes (int): Number of classes ``C``.
        in_channels (int): Feature size ``D``.
        scale (float): Scale of the cosine logits. Defaults to 25.0
            (LIFT).
        text_weights (str, optional): File of ``[C, D]`` initial class
            vectors written by ``tools/misc/clip_text_classifier.py``.
            Defaults to None (random).
        loss (dict): Config of the loss. Defaults to
            ``dict(type='CrossEntropyLoss', loss_weight=1.0)``.
        topk (int | tuple[int]): Top-k accuracies logged with ``cal_acc``.
            Defaults to ``(1, )``.
        cal_acc (bool): Log the training accuracy. Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Inputs:
        feats (tuple[Tensor]): Features; the last one, ``[B, D]``, is
            classified.

    Returns:
        Tensor: ``[B, C]`` logits from ``forward``.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 scale: float = 25.0,
                 text_weights: Optional[str] = None,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 topk: Union[int, Tuple[int]] = (1, ),
                 cal_acc: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            loss=loss, topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        if num_classes < 1 or in_channels < 1 or not scale > 0:
            raise ValueError(
                'CosineClsHead needs positive num_classes, in_channels and '
                f'scale, got {num_classes}, {in_channels}, {scale}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.scale = float(scale)
        self.text_weights = text_weights
        self.fc = NormedLinear(in_channels, num_classes)
        self.register_buffer('class_counts', None, persistent=False)

    def init_weights(self) -> None:
        """Initialise as configured, then load ``text_weights``."""
        super().init_weights()
        if self.text_weights is not None:
            weight = load_text_classifier(self.text_weights, self.num_classes,
                                          self.in_channels)
            with torch.no_grad():
                self.fc.weight.copy_(weight)

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Store the training samples per class (for a logit-adjusted
        loss).

        Args:
            counts (Sequence[int]): ``num_classes`` positive counts.
        """
        counts = torch.as_tensor(
            counts, dtype=torch.float32, device=self.fc.weight.device)
        if counts.shape != (self.num_classes, ) or (counts <= 0).any():
            raise ValueError(
                f'CosineClsHead(num_classes={self.num_classes}) needs '
                f'{self.num_classes} positive class counts, got '
                f'{counts.tolist()}')
        self.class_counts = counts

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The last feature, ``[B, D]``."""
        return feats[-1]

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Scaled cosine logits ``[B, C]``."""
        return self.scale * self.fc(self.pre_logits(feats))

    def _get_loss(self, cls_score: torch.Tensor,
                  data_samples: List[DataSample], **kwargs) -> dict:
        if not isinstance(self.loss_module, BalancedSoftmaxLoss):
            return super()._get_loss(cls_score, data_samples, **kwargs)
        if 'gt_score' in data_samples[0]:
            raise ValueError(
                f'{type(self.loss_module).__name__} needs hard labels '
                '(gt_label); soft labels from Mixup/CutMix are not supported')
        if self.class_counts is None:
            raise RuntimeError(
                f'{type(self.loss_module).__name__} needs the training class '
                'counts: train with ClassCountsHook (default_hooks.'
                'class_counts), or call head.set_class_counts(counts)')
        target = torch.cat([sample.gt_label for sample in data_samples])
        losses = dict(
            loss=self.loss_module(cls_score, target, self.class_counts))
        if self.cal_acc:
            accuracies = Accuracy.calculate(cls_score, target, topk=self.topk)
            losses.update({
                f'accuracy_top-{k}': a
                for k, a in zip(self.topk, accuracies)
            })
        return losses
