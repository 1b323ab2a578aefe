"""SHIKE's multi-expert cosine classification head."""
import copy
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..losses import BalancedSoftmaxLoss
from ..losses.utils import upcast_logits
from ..post_processors import PostProcessorChain
from ..utils import NormedLinear
from ..utils.prior import load_prior
from ..utils.text_classifier import load_text_classifier

STAGES = (1, 2)


@MODELS.register_module()
class SHIKEHead(ClsHead):
    """One cosine classifier per expert, with SHIKE's two training stages.

    Expert ``m`` scores its feature with ``scale * cos(f_m, w_{m,c})``.

    - Stage 1 trains ``classifiers`` (and everything before the head) with
      ``L = sum_m (CE_m + DKT_m + MKD_m)``, returned as the separate keys
      ``loss_ce``, ``loss_dkt`` and ``loss_mkd``, each summed over experts.
      A logit-adjusted ``ce_loss`` (``LogitAdjustedLoss``, as LIFT trains
      with) gives ``loss_la`` instead of ``loss_ce`` and needs the class
      counts in stage 1 too.
    - Stage 2 re-trains the fresh ``retrain_classifiers`` with the Balanced
      Softmax loss ``loss_bal``, which needs the training class counts
      (:meth:`set_class_counts`). The head says whether it has a stage 2
      (:attr:`has_stage2`) and which parameters stage 2 trains
      (:meth:`stage2_parameters`); switching the stage (:meth:`set_stage`)
      and freezing the rest are the training run's job.

    The stage is the persistent buffer ``stage``, saved in checkpoints, so a
    stage-2 checkpoint predicts with ``retrain_classifiers`` without any
    flag; loading a checkpoint also restores the stage it was saved in.
    Prediction averages the expert logits before the softmax. Losses are
    computed in float32 or wider, so they are safe under AMP.

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Feature size D of every expert.
        num_experts (int): Number of experts M. Defaults to 3.
        scale (float): Scale of the cosine logits. Defaults to 30.0.
        ce_loss (dict): Stage-1 cross-entropy, applied to every expert and
            reduced as a batch mean per expert: ``CrossEntropyLoss`` (the
            SHIKE code) or ``LogitAdjustedLoss`` (LIFT's loss, the
            cross-entropy of ``z + tau * log(class_counts)``).
            Defaults to ``dict(type='CrossEntropyLoss', loss_weight=1.0)``.
        dkt_loss (dict, optional): Stage-1 :class:`DKTLoss`; its ``scale``
            defaults to the head's. None leaves it out.
            Defaults to ``dict(type='DKTLoss', loss_weight=10.0)``.
        mkd_loss (dict, optional): Stage-1 :class:`MutualKDLoss`. None leaves
            it out. Defaults to ``dict(type='MutualKDLoss', loss_weight=1.0)``.
        bal_loss (dict, optional): Stage-2 :class:`BalancedSoftmaxLoss`. None
            makes a single-stage head without ``retrain_classifiers`` (e.g.
            a plain CE baseline).
            Defaults to ``dict(type='BalancedSoftmaxLoss', loss_weight=1.0)``.
        topk (int | tuple[int]): Top-k accuracies logged when ``cal_acc``.
            Defaults to ``(1, )``.
        cal_acc (bool): Log the training accuracy of the averaged logits.
            Defaults to False.
        expert_weights (Sequence[float] | str, optional): ``M``
            non-negative weights summing to 1 that fuse the expert logits at
            prediction time, ``sum_m w_m z_m``, or the
            ``expert_weights.json`` that
            ``tools/analysis_tools/expert_aggregation.py`` writes (its
            ``weights`` list). Defaults to None (the mean, SHIKE's
            prediction).
        post_processors (list[dict], optional): Logit post-processors
            applied in order before the prediction's softmax (e.g.
            ``TemperatureScaling``, ``LogitAdjustment``,
            ``TargetPriorAdjustment``); they receive the training class
            counts with :meth:`set_class_counts`. Defaults to None.
        text_weights (str, optional): File of ``[C, D]`` initial class
            vectors written by ``tools/misc/clip_text_classifier.py``
            (LIFT's initialisation from the class names); every expert's
            classifier starts from them, loaded by :meth:`init_weights`.
            Defaults to None (random, as SHIKE).
        retrain_from_text (bool): With ``text_weights``, the stage-2
            ``retrain_classifiers`` start from the text vectors too
            (True), or fresh and random as in SHIKE (False). Defaults to
            True.
        init_cfg (dict, optional): Initialisation config. Defaults to None;
            the classifiers initialise themselves as in SHIKE.

    Inputs:
        feats (tuple[Tensor]): ``num_experts`` features, each ``[B, D]``
            (the output of :class:`DKFNeck`).

    ``forward`` (what ``model(x, mode='tensor')`` and an exported model
    return) gives the fused prediction logits, the mean of the experts'
    logits (weighted by ``expert_weights`` when set), ``[B, C]``;
    :meth:`expert_logits` gives each expert's logits of the current stage,
    ``[M, B, C]``, which the losses use; ``pre_logits`` returns the stacked
    features ``[M, B, D]``. ``predict`` applies ``post_processors`` to the
    fused logits, stores their softmax as ``pred_score`` ``[C]`` and each
    expert's own softmax (not post-processed) as ``expert_scores``
    ``[M, C]`` on every DataSample. Neither option changes training or the
    checkpoint's keys.
    """

    def __init__(
            self,
            num_classes: int,
            in_channels: int,
            num_experts: int = 3,
            scale: float = 30.0,
            ce_loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
            dkt_loss: Optional[dict] = dict(type='DKTLoss', loss_weight=10.0),
            mkd_loss: Optional[dict] = dict(
                type='MutualKDLoss', loss_weight=1.0),
            bal_loss: Optional[dict] = dict(
                type='BalancedSoftmaxLoss', loss_weight=1.0),
            topk: Union[int, Tuple[int]] = (1, ),
            cal_acc: bool = False,
            expert_weights: Optional[Sequence[float]] = None,
            post_processors: Optional[List[dict]] = None,
            text_weights: Optional[str] = None,
            retrain_from_text: bool = True,
            init_cfg: Optional[dict] = None):
        super().__init__(
            loss=ce_loss, topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.num_experts = num_experts
        self.scale = scale
        self.text_weights = text_weights
        self.retrain_from_text = retrain_from_text

        if dkt_loss is not None:
            dkt_loss = copy.deepcopy(dkt_loss)
            dkt_loss.setdefault('scale', scale)
            dkt_loss = MODELS.build(dkt_loss)
        self.dkt_loss = dkt_loss
        self.mkd_loss = MODELS.build(mkd_loss) if mkd_loss else None
        self.bal_loss = MODELS.build(bal_loss) if bal_loss else None
        expert_taus = getattr(self.bal_loss, 'expert_taus', None)
        if expert_taus is not None and len(expert_taus) != num_experts:
            raise ValueError(
                f'bal_loss.expert_taus has {len(expert_taus)} entries for '
                f'SHIKEHead(num_experts={num_experts})')
        self.register_buffer(
            'expert_weights',
            None if expert_weights is None else load_prior(
                expert_weights,
                'SHIKEHead.expert_weights',
                num_experts,
                key='weights').float(),
            persistent=False)
        self.post_processors = PostProcessorChain(post_processors or [],
                                                  num_classes)

        self.classifiers = nn.ModuleList([
            NormedLinear(in_channels, num_classes) for _ in range(num_experts)
        ])
        if self.bal_loss is not None:
            self.retrain_classifiers = nn.ModuleList([
                NormedLinear(in_channels, num_classes)
                for _ in range(num_experts)
            ])
        # The buffer goes into checkpoints; the int mirrors it so that
        # forward branches on a Python value (no graph break under
        # torch.compile).
        self.register_buffer('stage', torch.tensor(1, dtype=torch.long))
        self._stage = 1
        self.register_buffer('class_counts', None, persistent=False)

    def init_weights(self) -> None:
        """Initialise as configured, then load ``text_weights`` into the
        classifiers (and the re-training ones with
        ``retrain_from_text``)."""
        super().init_weights()
        if self.text_weights is None:
            return
        weight = load_text_classifier(self.text_weights, self.num_classes,
                                      self.in_channels)
        sets = [self.classifiers]
        if self.has_stage2 and self.retrain_from_text:
            sets.append(self.retrain_classifiers)
        with torch.no_grad():
            for classifiers in sets:
                for classifier in classifiers:
                    classifier.weight.copy_(weight)

    @property
    def logit_adjusted_stage1(self) -> bool:
        """Whether the stage-1 loss is logit-adjusted (needs the class
        counts)."""
        return isinstance(self.loss_module, BalancedSoftmaxLoss)

    @property
    def current_stage(self) -> int:
        """The training stage, 1 or 2."""
        return self._stage

    @property
    def has_stage2(self) -> bool:
        """Whether the head has a stage 2 (``bal_loss`` is set)."""
        return self.bal_loss is not None

    def set_stage(self, stage: int) -> None:
        """Switch to stage 1 (``classifiers``) or 2
        (``retrain_classifiers``)."""
        if stage not in STAGES:
            raise ValueError(f'stage must be 1 or 2, got {stage}')
        if stage == 2 and not self.has_stage2:
            raise ValueError('SHIKEHead has no stage 2 (bal_loss=None)')
        self.stage.fill_(stage)
        self._stage = stage

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        # A checkpoint restores the stage it was saved in.
        self._stage = int(self.stage)

    def stage2_parameters(self) -> List[nn.Parameter]:
        """The parameters stage 2 trains: the re-training classifiers."""
        if not self.has_stage2:
            raise ValueError('SHIKEHead has no stage 2 (bal_loss=None)')
        return list(self.retrain_classifiers.parameters())

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Store the training samples per class for the stage-2 loss.

        Args:
            counts (Sequence[int]): ``num_classes`` positive counts.
        """
        counts = torch.as_tensor(
            counts, dtype=torch.float32, device=self.stage.device)
        if counts.shape != (self.num_classes, ) or (counts <= 0).any():
            raise ValueError(
                f'SHIKEHead(num_classes={self.num_classes}) needs '
                f'{self.num_classes} positive class counts, got '
                f'{counts.tolist()}')
        self.class_counts = counts
        self.post_processors.set_class_counts(counts)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Stack the expert features into ``[M, B, D]``."""
        if len(feats) != self.num_experts:
            raise ValueError(
                f'SHIKEHead has {self.num_experts} experts but got '
                f'{len(feats)} features; give the neck and the head the '
                'same num_experts')
        return torch.stack(feats)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The prediction logits: the mean of the experts' logits (or their
        ``expert_weights`` average), ``[B, C]``."""
        return self.fuse(self.expert_logits(feats))

    def fuse(self, logits: torch.Tensor) -> torch.Tensor:
        """Fuse expert logits ``[M, B, C]`` into ``[B, C]``: their mean, or
        their average weighted by ``expert_weights``."""
        if self.expert_weights is None:
            return logits.mean(dim=0)
        return torch.einsum('m,mbc->bc', self.expert_weights.to(logits),
                            logits)

    def expert_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Scaled cosine logits of the current stage, ``[M, B, C]``."""
        expert_feats = self.pre_logits(feats)
        classifiers = (
            self.retrain_classifiers
            if self.current_stage == 2 else self.classifiers)
        return self.scale * torch.stack([
            classifier(feat)
            for classifier, feat in zip(classifiers, expert_feats)
        ])

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> dict:
        """The losses of the current stage from each expert's logits.

        Args:
            feats (tuple[Tensor]): ``num_experts`` features ``[B, D]``.
            data_samples (list[DataSample]): Samples with ``gt_label``.
            **kwargs: Passed to the cross-entropy loss.

        Returns:
            dict[str, Tensor]: The loss terms (and accuracies).
        """
        return self._get_loss(
            self.expert_logits(feats), data_samples, **kwargs)

    def predict(
        self,
        feats: Tuple[torch.Tensor],
        data_samples: Optional[List[Optional[DataSample]]] = None
    ) -> List[DataSample]:
        """Predict from the mean of the experts' logits.

        Args:
            feats (tuple[Tensor]): ``num_experts`` features ``[B, D]``.
            data_samples (list[DataSample | None], optional): Samples to
                fill. Defaults to None (new ones).

        Returns:
            list[DataSample]: With ``pred_score``, ``pred_label`` and
            ``expert_scores``.
        """
        return self._get_predictions(self.expert_logits(feats), data_samples)

    def _get_loss(self, logits: torch.Tensor, data_samples: List[DataSample],
                  **kwargs) -> dict:
        """Stage-1 (``loss_ce``, ``loss_dkt``, ``loss_mkd``) or stage-2
        (``loss_bal``) losses, plus ``accuracy_top-k`` when ``cal_acc``."""
        if 'gt_score' in data_samples[0] or 'gt_label' not in data_samples[0]:
            raise ValueError(
                'SHIKEHead needs hard labels (gt_label); soft labels from '
                'batch augmentations such as Mixup/CutMix are not supported')
        target = torch.cat([sample.gt_label for sample in data_samples])
        num_experts, batch_size, num_classes = logits.shape

        losses = dict()
        if self.current_stage == 2:
            losses['loss_bal'] = self.bal_loss(logits, target,
                                               self._counts('Stage 2'))
        else:
            # Sum of per-expert batch means.
            if self.logit_adjusted_stage1:
                losses['loss_la'] = self.loss_module(
                    logits, target,
                    self._counts('The logit-adjusted stage-1 '
                                 'loss'))
            else:
                losses['loss_ce'] = self.loss_module(
                    upcast_logits(logits).reshape(-1, num_classes),
                    target.repeat(num_experts),
                    avg_factor=batch_size,
                    **kwargs)
            if self.dkt_loss is not None:
                losses['loss_dkt'] = self.dkt_loss(logits, target)
            if self.mkd_loss is not None:
                losses['loss_mkd'] = self.mkd_loss(logits)

        if self.cal_acc:
            accuracies = Accuracy.calculate(
                logits.mean(dim=0), target, topk=self.topk)
            losses.update({
                f'accuracy_top-{k}': a
                for k, a in zip(self.topk, accuracies)
            })
        return losses

    def _counts(self, what: str) -> torch.Tensor:
        if self.class_counts is None:
            raise RuntimeError(
                f'{what} of SHIKE needs the training class counts: in a '
                'run, ClassCountsHook (default_hooks.class_counts) sets '
                'them; elsewhere call head.set_class_counts(counts)')
        return self.class_counts

    def _get_predictions(
        self, logits: torch.Tensor,
        data_samples: Optional[List[Optional[DataSample]]]
    ) -> List[DataSample]:
        pred_scores = F.softmax(self.post_processors(self.fuse(logits)), dim=1)
        pred_labels = pred_scores.argmax(dim=1, keepdim=True).detach()
        expert_scores = F.softmax(logits, dim=-1).transpose(0, 1)

        if data_samples is None:
            data_samples = [None] * pred_scores.size(0)
        out_data_samples = []
        for data_sample, score, label, per_expert in zip(
                data_samples, pred_scores, pred_labels, expert_scores):
            if data_sample is None:
                data_sample = DataSample()
            data_sample.set_pred_score(score).set_pred_label(label)
            data_sample.set_field(per_expert, 'expert_scores')
            out_data_samples.append(data_sample)
        return out_data_samples
