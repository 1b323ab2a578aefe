"""Top-k, Many/Medium/Few and calibration metrics for long-tailed
recognition."""
import json
import logging
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmpretrain.registry import METRICS

from shike_mm.datasets.split_file import read_training_counts
from ..functional import (adaptive_calibration_error, brier_score,
                          expected_calibration_error,
                          maximum_calibration_error, negative_log_likelihood)

SHOT_GROUPS = ('many', 'medium', 'few')


def shot_groups(train_counts: Sequence[int],
                many_thr: int = 100,
                few_thr: int = 20) -> Dict[str, np.ndarray]:
    """Boolean class masks of the Many (``> many_thr`` training images),
    Medium (``few_thr`` to ``many_thr`` inclusive) and Few (``< few_thr``)
    groups."""
    counts = np.asarray(train_counts)
    return {
        'many': counts > many_thr,
        'medium': (counts >= few_thr) & (counts <= many_thr),
        'few': counts < few_thr,
    }


def per_class_accuracy(labels: np.ndarray, preds: np.ndarray,
                       num_classes: int) -> np.ndarray:
    """Top-1 accuracy (%) of each class; NaN for classes without samples.

    Args:
        labels (np.ndarray): ``[N]`` ground-truth labels.
        preds (np.ndarray): ``[N]`` predicted labels.
        num_classes (int): Number of classes C.

    Returns:
        np.ndarray: ``[C]`` accuracies in percent.
    """
    labels, preds = np.asarray(labels), np.asarray(preds)
    samples = np.bincount(labels, minlength=num_classes)
    right = np.bincount(labels, weights=preds == labels, minlength=num_classes)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(samples > 0, 100.0 * right / samples, np.nan)


def group_accuracy(per_class: np.ndarray,
                   groups: Dict[str, np.ndarray]) -> Dict[str, float]:
    """Mean per-class accuracy of each group, over its classes that have
    test samples (not NaN); NaN for a group without any.

    Args:
        per_class (np.ndarray): ``[C]`` accuracies, NaN for absent classes.
        groups (dict[str, np.ndarray]): Group name to ``[C]`` boolean mask,
            as :func:`shot_groups` gives.

    Returns:
        dict[str, float]: Group name to mean accuracy.
    """
    per_class = np.asarray(per_class, dtype=np.float64)
    means = {}
    for name, members in groups.items():
        accuracies = per_class[np.asarray(members) & ~np.isnan(per_class)]
        means[name] = float(accuracies.mean()) if len(accuracies) \
            else float('nan')
    return means


@METRICS.register_module()
class LongTailMetric(BaseMetric):
    """Accuracy by shot group and calibration for long-tailed recognition.

    Reports, in percent, under ``prefix`` (e.g. ``lt/top1``):

    - ``top{k}`` for each ``k`` in ``topk`` (``k`` is capped at the number
      of classes);
    - ``many``, ``medium``, ``few``: mean of the per-class top-1 accuracies
      of the classes in the group (Many: more than ``many_thr`` training
      images; Medium: ``few_thr`` to ``many_thr``; Few: fewer than
      ``few_thr``), counting only classes present in the evaluated set. A
      group without such classes reports NaN, so the keys never change;
    - calibration of the top-1 prediction on ``max(pred_score)``, so
      ``pred_score`` must be probabilities (MMPretrain heads give softmax
      scores): ``ece`` (expected calibration error, ``ece_bins``
      equal-width bins), ``mce`` (maximum calibration error, the same bins)
      and ``adaptive_ece`` (ECE over ``ece_bins`` equal-mass bins), all in
      percent;
    - ``nll``: mean negative log-likelihood of the true class, in nats;
    - ``brier``: mean Brier score ``sum_c (p_c - [c = y])^2``, in [0, 2].

    Per-class accuracy is not put in the results (a list per validation
    would flood the log); set ``per_class_out`` to write it as JSON.

    A prediction whose score is not finite (a diverged model) never counts
    as correct; when there is one, every accuracy is reported as NaN, with a
    WARNING, so that such an evaluation can never be the best checkpoint.

    The Many/Medium/Few groups need the per-class counts of the training
    set. In a run, :class:`~shike_mm.engine.hooks.ClassCountsHook` hands
    them over through :meth:`set_class_counts` (the name heads and
    post-processors receive them by too): the counts of the
    training dataset the runner built, or, when testing a checkpoint, the
    counts stored in it. ``class_counts`` or ``ann_file`` give them
    explicitly (for offline evaluation); in a run they must agree with the
    training dataset.

    Args:
        topk (int | Sequence[int]): The ``k`` of top-k accuracy.
            Defaults to (1, 5).
        many_thr (int): Many-shot classes have more training images.
            Defaults to 100.
        few_thr (int): Few-shot classes have fewer training images.
            Defaults to 20.
        class_counts (Sequence[int], optional): Training images per class.
            Defaults to None.
        ann_file (str, optional): Training split file
            (``relative/path label`` lines) to count. Defaults to None.
            Give at most one of ``class_counts`` and ``ann_file``.
        ece_bins (int): Number of bins of the ECE, MCE and adaptive ECE.
            Defaults to 15.
        per_class_out (str, optional): JSON file receiving each class's
            training count, group, number of evaluated samples and accuracy.
            Defaults to None.
        collect_device (str): Device for collecting results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to
            ``'lt'``.
    """
    default_prefix = 'lt'

    def __init__(self,
                 topk=(1, 5),
                 many_thr: int = 100,
                 few_thr: int = 20,
                 class_counts: Optional[Sequence[int]] = None,
                 ann_file: Optional[str] = None,
                 ece_bins: int = 15,
                 per_class_out: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not self.topk or any(k < 1 for k in self.topk):
            raise ValueError(f'topk must hold positive ints, got {topk!r}')
        if few_thr > many_thr:
            raise ValueError(f'few_thr ({few_thr}) must not exceed many_thr '
                             f'({many_thr})')
        if ece_bins < 1:
            raise ValueError(f'ece_bins must be positive, got {ece_bins}')
        if class_counts is not None and ann_file:
            raise ValueError('LongTailMetric: give class_counts or ann_file, '
                             'not both')
        self.many_thr = many_thr
        self.few_thr = few_thr
        self.ece_bins = ece_bins
        self.per_class_out = per_class_out
        self._counts: Optional[List[int]] = None
        self._counts_source: Optional[str] = None
        if class_counts is not None:
            self._counts = [int(c) for c in class_counts]
            self._counts_source = 'LongTailMetric.class_counts'
        elif ann_file:
            self._counts = read_training_counts(ann_file)
            self._counts_source = f'LongTailMetric.ann_file={ann_file!r}'

    @property
    def train_class_counts(self) -> Optional[List[int]]:
        """The per-class training counts, None until they are known."""
        return self._counts

    @property
    def train_class_counts_source(self) -> Optional[str]:
        """Where :attr:`train_class_counts` come from."""
        return self._counts_source

    def set_class_counts(self, counts: Sequence[int], source: str) -> None:
        """Receive the per-class counts of the training set.

        Args:
            counts (Sequence[int]): One count per class.
            source (str): Where they come from, for messages (e.g. the
                training dataset).

        Raises:
            ValueError: If counts were given explicitly and differ.
        """
        counts = [int(c) for c in counts]
        if self._counts is not None and self._counts != counts:
            raise ValueError(
                f'{self._counts_source} ({len(self._counts)} classes, '
                f'{sum(self._counts)} images) does not match {source} '
                f'({len(counts)} classes, {sum(counts)} images); the '
                'Many/Medium/Few groups must come from the data the model '
                'was trained on. Remove the explicit counts or fix them')
        if self._counts is None:
            self._counts_source = source
        self._counts = counts

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep, per sample, the label, top-1 prediction, its confidence,
        the top-k hits, the score of the true class and the sum of squared
        scores (not the full score vector).

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict]): Predictions with ``pred_score``
                and ``gt_label``.
        """
        if not data_samples:
            return
        scores = torch.stack(
            [torch.as_tensor(s['pred_score']) for s in data_samples])
        scores = scores.detach().float().cpu()
        labels = torch.tensor([
            int(torch.as_tensor(s['gt_label']).reshape(-1)[0])
            for s in data_samples
        ])
        num_classes = scores.shape[1]
        max_k = min(max(self.topk), num_classes)
        finite = torch.isfinite(scores).all(dim=1)
        confidences, ranked = scores.topk(max_k, dim=1)
        # A non-finite score ranks arbitrarily (NaN sorts first): such a
        # prediction is never a hit.
        hits = (ranked == labels[:, None]) & finite[:, None]
        true_scores = scores.double().gather(1, labels[:, None])[:, 0]
        sum_squares = scores.double().square().sum(dim=1)
        for i, label in enumerate(labels.tolist()):
            topk_hits = [bool(hits[i, :k].any()) for k in self.topk]
            nan = float('nan')
            self.results.append(
                dict(
                    gt_label=label,
                    pred_label=int(ranked[i, 0]) if finite[i] else -1,
                    confidence=float(confidences[i, 0]) if finite[i] else nan,
                    true_score=float(true_scores[i]) if finite[i] else nan,
                    sum_squares=float(sum_squares[i]) if finite[i] else nan,
                    topk_hits=topk_hits,
                    num_classes=num_classes))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute the metrics from the results of all ranks.

        Args:
            results (list[dict]): What :meth:`process` kept.

        Returns:
            dict[str, float]: Metric name (without prefix) to value.
        """
        num_classes = results[0]['num_classes']
        train_counts = np.asarray(self._train_counts(num_classes))
        labels = np.array([r['gt_label'] for r in results])
        preds = np.array([r['pred_label'] for r in results])
        topk_hits = np.array([r['topk_hits'] for r in results])
        correct = preds == labels
        per_class = per_class_accuracy(labels, preds, num_classes)

        metrics = {
            f'top{k}': float(100.0 * topk_hits[:, i].mean())
            for i, k in enumerate(self.topk)
        }
        groups = shot_groups(train_counts, self.many_thr, self.few_thr)
        metrics.update(group_accuracy(per_class, groups))
        confidences = np.array([r['confidence'] for r in results])
        for key, error in (('ece', expected_calibration_error),
                           ('mce', maximum_calibration_error),
                           ('adaptive_ece', adaptive_calibration_error)):
            metrics[key] = 100.0 * error(confidences, correct, self.ece_bins)
        true_scores = np.array([r['true_score'] for r in results])
        metrics['nll'] = negative_log_likelihood(true_scores)
        metrics['brier'] = brier_score(
            true_scores, np.array([r['sum_squares'] for r in results]))
        num_nonfinite = int((~np.isfinite(confidences)).sum())
        if num_nonfinite:
            # Loud, and never the best checkpoint: NaN compares false.
            metrics = {name: float('nan') for name in metrics}
            print_log(
                f'LongTailMetric: {num_nonfinite} of {len(results)} '
                'predictions have non-finite scores (has training '
                'diverged?); they count as wrong and every metric is '
                'reported as NaN',
                logger='current',
                level=logging.WARNING)

        print_log(
            'LongTailMetric: Many/Medium/Few classes ' +
            '/'.join(str(int(groups[g].sum())) for g in SHOT_GROUPS) +
            f' (many > {self.many_thr}, few < {self.few_thr} training '
            'images)',
            logger='current')
        if self.per_class_out:
            self._dump_per_class(train_counts, groups,
                                 np.bincount(labels, minlength=num_classes),
                                 per_class)
        return metrics

    def _train_counts(self, num_classes: int) -> List[int]:
        if self._counts is None:
            raise ValueError(
                'LongTailMetric needs the per-class training counts for its '
                'Many/Medium/Few groups, and none were given: add '
                "default_hooks.class_counts=dict(type='ClassCountsHook') "
                '(configs/_base_/default_runtime.py has it), or set '
                'class_counts=[...] or ann_file=<training split file>')
        if len(self._counts) != num_classes:
            raise ValueError(
                f'LongTailMetric: {len(self._counts)} training class counts '
                f'({self._counts_source}) for {num_classes} predicted '
                'classes')
        return self._counts

    def _dump_per_class(self, train_counts: np.ndarray,
                        groups: Dict[str, np.ndarray], samples: np.ndarray,
                        per_class: np.ndarray) -> None:
        names = (self.dataset_meta or {}).get('classes')
        if names is not None and len(names) != len(train_counts):
            names = None
        rows = []
        for c in range(len(train_counts)):
            accuracy = None if np.isnan(per_class[c]) else float(per_class[c])
            rows.append(
                dict(
                    index=c,
                    name=None if names is None else names[c],
                    train_count=int(train_counts[c]),
                    group=next(g for g in SHOT_GROUPS if groups[g][c]),
                    num_samples=int(samples[c]),
                    accuracy=accuracy))
        folder = osp.dirname(self.per_class_out)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(self.per_class_out, 'w') as f:
            json.dump(rows, f, indent=1)
        print_log(
            f'LongTailMetric: per-class accuracy written to '
            f'{self.per_class_out}',
            logger='current')
