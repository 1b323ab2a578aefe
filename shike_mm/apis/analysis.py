"""A checkpoint evaluated on its config's long-tailed test split.

- :func:`evaluate_checkpoint` runs a config's test split through a
  checkpoint and its :class:`~shike_mm.evaluation.metrics.LongTailMetric`,
  keeping the per-class table the metric writes and, for SHIKE heads, each
  expert's scores;
- :func:`expert_group_accuracy` is the expert-preference analysis: each
  expert's mean per-class accuracy in the Many/Medium/Few groups;
- :func:`check_expected_results` reads what a config's recipe is expected
  to give (``expected_results``).

:mod:`.tables` formats the results and :mod:`.plots` draws them.
"""
import json
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config
from mmpretrain.registry import METRICS

from shike_mm.evaluation.metrics import (SHOT_GROUPS, group_accuracy,
                                         per_class_accuracy)
from shike_mm.utils.config import metric_configs
from .model_outputs import load_model, split_dataloader

#: Titles of the Many/Medium/Few groups in tables and plots.
GROUP_TITLES = {'many': 'Many', 'medium': 'Medium', 'few': 'Few'}
#: Config key of the results a recipe is expected to give (see
#: :func:`check_expected_results`).
EXPECTED_RESULTS_KEY = 'expected_results'


@dataclass
class EvaluationResult:
    """One model evaluated on its config's test split.

    Attributes:
        name (str): Label of the model in tables and plots.
        metrics (dict[str, float]): The LongTailMetric results without
            their prefix (``top1``, ``many``, ``medium``, ``few``, ...).
        per_class (list[dict]): One row per class, as LongTailMetric's
            ``per_class_out`` writes it: ``index``, ``name``,
            ``train_count``, ``group``, ``num_samples``, ``accuracy``.
        labels (np.ndarray): ``[N]`` ground-truth labels.
        expert_scores (np.ndarray, optional): ``[N, M, C]`` per-expert
            softmax scores (SHIKE heads), else None.
        expected (dict, optional): The config's ``expected_results``: what
            its recipe gave over several training seeds, else None.
    """
    name: str
    metrics: Dict[str, float]
    per_class: List[dict]
    labels: np.ndarray
    expert_scores: Optional[np.ndarray] = None
    expected: Optional[dict] = None

    @property
    def num_experts(self) -> int:
        """Number of experts whose scores were kept (0 without any)."""
        if self.expert_scores is None:
            return 0
        return self.expert_scores.shape[1]


def check_expected_results(expected, source: str) -> Optional[dict]:
    """Validate a config's ``expected_results``.

    The field states what a recipe gave with several training seeds, so
    that a new run can be read against it: ``dict(seeds=(0, 1, ...),
    top1=(...), many=(...), medium=(...), few=(...))``, one test result
    (%) per seed for each metric. Metrics may be left out.

    Args:
        expected (dict | None): The field.
        source (str): The config, named in errors.

    Returns:
        dict | None: The field as a plain dict of tuples, or None.
    """
    if expected is None:
        return None
    expected = {key: tuple(value) for key, value in dict(expected).items()}
    seeds = expected.get('seeds')
    metrics = set(expected) - {'seeds'}
    if (not seeds or len(seeds) < 2
            or not metrics <= set(('top1', ) + SHOT_GROUPS)
            or any(len(expected[key]) != len(seeds) for key in metrics)):
        raise ValueError(
            f'{source}: {EXPECTED_RESULTS_KEY} must be dict(seeds=(s1, s2, '
            '...), top1=(...), many=(...), medium=(...), few=(...)) with '
            f'one result per seed, got {expected}')
    return expected


def _long_tail_metric_cfg(cfg: Config) -> dict:
    """The LongTailMetric entry of ``cfg.test_evaluator``."""
    metrics = metric_configs(cfg.test_evaluator)
    for metric in metrics:
        if metric.get('type') in ('LongTailMetric',
                                  'mmpretrain.LongTailMetric'):
            return dict(metric)
    raise ValueError(
        'The long-tail analysis needs a LongTailMetric in the config\'s '
        f'test_evaluator, found {[m.get("type") for m in metrics]}')


def evaluate_checkpoint(cfg: Config,
                        checkpoint: str,
                        per_class_out: str,
                        name: Optional[str] = None,
                        device: str = 'cpu') -> EvaluationResult:
    """Evaluate ``checkpoint`` on the test split of ``cfg``.

    The config's LongTailMetric computes the metrics (with its own
    Many/Medium/Few thresholds) and writes its per-class table to
    ``per_class_out``. The model, its checkpoint and the test split go
    through the checks of ``tools/test.py``
    (:func:`~shike_mm.apis.model_outputs.load_model`,
    :func:`~shike_mm.apis.model_outputs.split_dataloader`).

    Args:
        cfg (Config): The config, with the command line's overrides and its
            default scope set (:func:`shike_mm.utils.cli.load_config`).
        checkpoint (str): Checkpoint file, loaded strictly through MMEngine
            (so with shike_mm's safe loader for local files). The
            Many/Medium/Few groups use the training counts stored in it, or
            else those of the config's training dataset.
        per_class_out (str): JSON file receiving the per-class table.
        name (str, optional): Label of the model. Defaults to the config's
            file name without extension.
        device (str): Device to run on. Defaults to ``'cpu'``.

    Returns:
        EvaluationResult: Metrics, per-class table and expert scores.
    """
    metric_cfg = _long_tail_metric_cfg(cfg)
    metric_cfg['per_class_out'] = per_class_out
    metric = METRICS.build(metric_cfg)

    loaded = load_model(cfg, checkpoint, device)
    dataloader = split_dataloader(loaded, cfg.test_dataloader.dataset)
    metric.set_class_counts(loaded.train_counts, loaded.counts_source)
    metric.dataset_meta = dataloader.dataset.metainfo

    labels, expert_scores = [], []
    with torch.no_grad():
        for batch in dataloader:
            outputs = loaded.model.test_step(batch)
            metric.process(batch, [out.to_dict() for out in outputs])
            for out in outputs:
                labels.append(int(out.gt_label[0]))
                if 'expert_scores' in out:
                    expert_scores.append(out.expert_scores.cpu().numpy())
    metrics = metric.evaluate(len(dataloader.dataset))
    prefix = f'{metric.prefix}/'
    per_class = load_per_class(per_class_out)
    return EvaluationResult(
        name=name or osp.splitext(osp.basename(cfg.filename))[0],
        metrics={
            k[len(prefix):]: v
            for k, v in metrics.items() if k.startswith(prefix)
        },
        per_class=per_class,
        labels=np.asarray(labels),
        expert_scores=np.stack(expert_scores) if expert_scores else None,
        expected=check_expected_results(
            cfg.get(EXPECTED_RESULTS_KEY), cfg.filename))


def expert_group_accuracy(result: EvaluationResult) -> np.ndarray:
    """Each expert's mean per-class accuracy in the Many/Medium/Few groups
    (the paper's expert-preference analysis).

    Args:
        result (EvaluationResult): A model evaluated with expert scores.

    Returns:
        np.ndarray: ``[M, 3]`` accuracies (%), columns Many, Medium, Few.
    """
    if result.expert_scores is None:
        raise ValueError(
            f'{result.name}: the predictions hold no expert_scores; the '
            'expert analysis needs a multi-expert head such as SHIKEHead')
    num_classes = len(result.per_class)
    class_groups = np.array([row['group'] for row in result.per_class])
    groups = {g: class_groups == g for g in SHOT_GROUPS}
    table = []
    for expert in range(result.num_experts):
        preds = result.expert_scores[:, expert].argmax(axis=1)
        means = group_accuracy(
            per_class_accuracy(result.labels, preds, num_classes), groups)
        table.append([means[g] for g in SHOT_GROUPS])
    return np.array(table)


def group_sizes(per_class: List[dict]) -> Dict[str, int]:
    """The number of classes of each Many/Medium/Few group in a per-class
    table."""
    return {
        g: sum(row['group'] == g for row in per_class)
        for g in SHOT_GROUPS
    }


def load_per_class(path: str) -> List[dict]:
    """Read a per-class table written by LongTailMetric's
    ``per_class_out``.

    Args:
        path (str): JSON file.

    Returns:
        list[dict]: One row per class.
    """
    with open(path) as f:
        rows = json.load(f)
    required = {'index', 'train_count', 'group', 'accuracy'}
    if not isinstance(rows, list) or not rows or any(
            not isinstance(row, dict) or not required <= set(row)
            for row in rows):
        raise ValueError(f'{path} is not a per-class table of LongTailMetric '
                         f'(a list of rows with the keys {sorted(required)})')
    return rows
