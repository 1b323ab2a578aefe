"""Long-tail analysis shared by the scripts in ``tools/analysis_tools``.

- :func:`evaluate_checkpoint` runs a config's test split through a
  checkpoint and its :class:`~shike_mm.evaluation.metrics.LongTailMetric`,
  keeping the per-class table the metric writes and, for SHIKE heads, each
  expert's scores;
- :func:`expert_group_accuracy` is the expert-preference analysis: each
  expert's mean per-class accuracy in the Many/Medium/Few groups;
- :func:`format_group_table` prints models side by side, each next to the
  results its config's recipe is expected to give (``expected_results``);
- ``plot_*`` write PNGs with matplotlib's Agg backend (matplotlib is
  imported only by them; install it with the ``demo`` extra).
"""
import glob
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.apis import get_model
from mmpretrain.registry import METRICS
from mmpretrain.utils import load_json_log

from shike_mm.datasets.class_counts import (COUNTS_META_KEY,
                                            trained_class_counts)
from shike_mm.evaluation.metrics.long_tail_metric import (SHOT_GROUPS,
                                                          group_accuracy,
                                                          per_class_accuracy)
from shike_mm.utils.checkpoint import load_checkpoint_checked

GROUP_TITLES = {'many': 'Many', 'medium': 'Medium', 'few': 'Few'}
GROUP_COLORS = {'many': '#4c72b0', 'medium': '#dd8452', 'few': '#c44e52'}
#: Validation metrics drawn by :func:`plot_learning_curves`, when logged,
#: with their legend titles.
CURVE_METRICS = {
    'lt/top1': 'top-1',
    'lt/many': 'Many',
    'lt/medium': 'Medium',
    'lt/few': 'Few'
}
#: Legend titles of the loss terms; other keys are shown as logged.
LOSS_TITLES = {
    'loss': 'total',
    'loss_ce': 'cross-entropy',
    'loss_dkt': 'DKT',
    'loss_mkd': 'mutual KD',
    'loss_bal': 'Balanced Softmax'
}
#: Line style of each loss term in :func:`plot_learning_curves` (the runs
#: are the colours); other terms take :data:`OTHER_LOSS_STYLES` in turn.
LOSS_STYLES = {
    'loss': '-',
    'loss_ce': '--',
    'loss_dkt': ':',
    'loss_mkd': '-.',
    'loss_bal': (0, (6, 2, 1, 2, 1, 2)),
}
OTHER_LOSS_STYLES = ((0, (1, 3)), (0, (8, 3)), (0, (3, 1, 3, 4)))
#: Line style and marker of each validation metric.
METRIC_STYLES = {
    'lt/top1': ('-', 'o'),
    'lt/many': ('--', '^'),
    'lt/medium': ('-.', 's'),
    'lt/few': (':', 'v'),
}
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


def expected_range(values: Sequence[float]) -> str:
    """``mean ± sample std (min-max)`` of per-seed results."""
    values = np.asarray(values, dtype=np.float64)
    return (f'{values.mean():.2f} ± {values.std(ddof=1):.2f} '
            f'({values.min():.2f}-{values.max():.2f})')


def _long_tail_metric_cfg(cfg: Config) -> dict:
    """The LongTailMetric entry of ``cfg.test_evaluator``."""
    evaluators = cfg.test_evaluator
    if not isinstance(evaluators, (list, tuple)):
        evaluators = [evaluators]
    for evaluator in evaluators:
        if evaluator.get('type') in ('LongTailMetric',
                                     'mmpretrain.LongTailMetric'):
            return dict(evaluator)
    raise ValueError(
        'The long-tail analysis needs a LongTailMetric in the config\'s '
        f'test_evaluator, found {[e.get("type") for e in evaluators]}')


def evaluate_checkpoint(
        config: str,
        checkpoint: str,
        per_class_out: str,
        name: Optional[str] = None,
        device: str = 'cpu',
        cfg_options: Optional[dict] = None) -> EvaluationResult:
    """Evaluate ``checkpoint`` on the test split of ``config``.

    The config's LongTailMetric computes the metrics (with its own
    Many/Medium/Few thresholds) and writes its per-class table to
    ``per_class_out``.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file, loaded strictly through MMEngine
            (so with shike_mm's safe loader for local files). The
            Many/Medium/Few groups use the training counts stored in it, or
            else those of the config's training dataset.
        per_class_out (str): JSON file receiving the per-class table.
        name (str, optional): Label of the model. Defaults to the config's
            file name without extension.
        device (str): Device to run on. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides, as
            ``--cfg-options`` gives them. Defaults to None.

    Returns:
        EvaluationResult: Metrics, per-class table and expert scores.
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    metric_cfg = _long_tail_metric_cfg(cfg)
    metric_cfg['per_class_out'] = per_class_out
    metric = METRICS.build(metric_cfg)

    model = get_model(cfg, device=device)
    loaded = load_checkpoint_checked(model, checkpoint, strict=True)
    metric.set_class_counts(*trained_class_counts(
        loaded.get('meta', {}).get(COUNTS_META_KEY),
        cfg.get('train_dataloader', {}).get('dataset')))
    dataloader = Runner.build_dataloader(cfg.test_dataloader)
    metric.dataset_meta = dataloader.dataset.metainfo

    labels, expert_scores = [], []
    with torch.no_grad():
        for batch in dataloader:
            outputs = model.test_step(batch)
            metric.process(batch, [out.to_dict() for out in outputs])
            for out in outputs:
                labels.append(int(out.gt_label[0]))
                if 'expert_scores' in out:
                    expert_scores.append(out.expert_scores.cpu().numpy())
    metrics = metric.evaluate(len(dataloader.dataset))
    prefix = f'{metric.prefix}/'
    per_class = load_per_class(per_class_out)
    return EvaluationResult(
        name=name or osp.splitext(osp.basename(config))[0],
        metrics={
            k[len(prefix):]: v
            for k, v in metrics.items() if k.startswith(prefix)
        },
        per_class=per_class,
        labels=np.asarray(labels),
        expert_scores=np.stack(expert_scores) if expert_scores else None,
        expected=check_expected_results(cfg.get(EXPECTED_RESULTS_KEY), config))


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


def _group_sizes(per_class: List[dict]) -> Dict[str, int]:
    return {
        g: sum(row['group'] == g for row in per_class)
        for g in SHOT_GROUPS
    }


def _seed_range(seeds: Sequence[int]) -> str:
    seeds = list(seeds)
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f'{seeds[0]}-{seeds[-1]}'
    return ', '.join(map(str, seeds))


def format_group_table(results: Sequence[EvaluationResult]) -> str:
    """A Markdown table of overall top-1 and Many/Medium/Few accuracy, one
    row per model, with each group's number of classes in the header.

    A model whose config states ``expected_results`` gets a second row:
    the mean ± sample standard deviation and the range its recipe gave
    over training seeds, followed by a note that exact digits depend on
    the machine.

    Args:
        results (Sequence[EvaluationResult]): Evaluated models; the header
            takes the groups of the first.

    Returns:
        str: The table (and the note).
    """
    keys = ('top1', ) + SHOT_GROUPS
    sizes = _group_sizes(results[0].per_class)
    header = ['model', 'top-1'
              ] + [f'{GROUP_TITLES[g]} ({sizes[g]} cls)' for g in SHOT_GROUPS]
    rows = [header, ['---'] * len(header)]
    seeds = set()
    for result in results:
        rows.append([result.name] +
                    [f'{result.metrics[key]:.2f}' for key in keys])
        if result.expected:
            seeds.add(result.expected['seeds'])
            rows.append([
                f'{result.name}, expected (seeds '
                f'{_seed_range(result.expected["seeds"])})'
            ] + [
                expected_range(result.expected[key]) if key in
                result.expected else '-' for key in keys
            ])
    table = '\n'.join('| ' + ' | '.join(row) + ' |' for row in rows)
    if seeds:
        table += (
            '\n\nExpected: mean ± sample standard deviation (lowest-highest) '
            'of what the shipped recipe gave with those training seeds. The '
            'exact digits of a run also depend on the CPU (or GPU), the '
            'torch build and the thread count.')
    return table


def format_expert_table(result: EvaluationResult) -> str:
    """A Markdown table of each expert's and the fused prediction's
    Many/Medium/Few accuracy.

    Args:
        result (EvaluationResult): A model evaluated with expert scores.

    Returns:
        str: The table.
    """
    table = expert_group_accuracy(result)
    rows = [['predictor'] + [GROUP_TITLES[g] for g in SHOT_GROUPS],
            ['---'] * (len(SHOT_GROUPS) + 1)]
    for expert, accuracies in enumerate(table):
        rows.append([f'expert {expert + 1}'] +
                    [f'{a:.2f}' for a in accuracies])
    rows.append(['mean of expert logits'] +
                [f'{result.metrics[g]:.2f}' for g in SHOT_GROUPS])
    return '\n'.join('| ' + ' | '.join(row) + ' |' for row in rows)


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


def find_scalars_json(work_dir: str) -> str:
    """The newest MMEngine ``vis_data/scalars.json`` of a work dir.

    Args:
        work_dir (str): A training work dir (holding ``<timestamp>/``
            folders), or a timestamp folder itself.

    Returns:
        str: Path of the newest ``scalars.json``.
    """
    candidates = glob.glob(osp.join(work_dir, 'vis_data', 'scalars.json'))
    candidates += glob.glob(
        osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    if not candidates:
        raise FileNotFoundError(
            f'No vis_data/scalars.json under {work_dir}: give the work dir '
            'of a training run that used the LocalVisBackend (the default '
            'of configs/_base_/default_runtime.py)')
    return max(candidates, key=osp.getmtime)


def _pyplot():
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(
            'The analysis plots need matplotlib: pip install matplotlib (or '
            'install shike-mm with the "demo" extra)') from error
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _legend_below(ax, entries: int) -> None:
    """A legend under the axes, never over the data."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(
            loc='upper center',
            bbox_to_anchor=(0.5, -0.16),
            ncol=min(entries, 3),
            fontsize='small',
            frameon=False)


def _zoomed_limits(values, margin: float = 5.0) -> Tuple[float, float]:
    """Accuracy-axis limits around ``values`` (percent), so that small
    differences stay visible; within [0, 100 + margin]."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 100.0 + margin
    return (max(0.0, np.floor(values.min() - margin)),
            min(100.0 + margin, np.ceil(values.max() + margin)))


def _save(fig, out_file: str) -> None:
    folder = osp.dirname(out_file)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out_file, dpi=120, bbox_inches='tight')
    _pyplot().close(fig)
    print_log(f'Wrote {out_file}', logger='current')


def plot_class_accuracy(per_class: Dict[str, List[dict]],
                        out_file: str) -> None:
    """Per-class accuracy against training frequency.

    Classes are ordered by training count, largest first; each model gets
    one bar per class, the training counts are a line on a log-scale
    right axis, and the background shows the Many/Medium/Few bands.

    Args:
        per_class (dict[str, list[dict]]): Model name to per-class table
            (all tables of the same classes).
        out_file (str): PNG to write.
    """
    plt = _pyplot()
    tables = list(per_class.values())
    reference = tables[0]
    if any(len(t) != len(reference) for t in tables):
        raise ValueError('The per-class tables have different numbers of '
                         f'classes: {[len(t) for t in tables]}')
    order = sorted(
        range(len(reference)), key=lambda c: (-reference[c]['train_count'], c))
    counts = [reference[c]['train_count'] for c in order]
    groups = [reference[c]['group'] for c in order]
    x = np.arange(len(order))

    fig, ax = plt.subplots(figsize=(max(6.0, 0.12 * len(order) + 4), 4.5))
    start = 0
    for position in range(1, len(order) + 1):
        if position == len(order) or groups[position] != groups[start]:
            ax.axvspan(
                start - 0.5,
                position - 0.5,
                color=GROUP_COLORS[groups[start]],
                alpha=0.12,
                label=f'{GROUP_TITLES[groups[start]]} classes')
            start = position

    width = 0.8 / len(per_class)
    for i, (name, table) in enumerate(per_class.items()):
        accuracies = [
            np.nan if table[c]['accuracy'] is None else table[c]['accuracy']
            for c in order
        ]
        ax.bar(x - 0.4 + width * (i + 0.5), accuracies, width, label=name)
    ax.set_xlim(-0.5, len(order) - 0.5)
    ax.set_ylim(0, 105)
    ax.set_ylabel('test accuracy (%)')
    ax.set_xlabel('class, by training images (most first)')
    if len(order) <= 30:
        ax.set_xticks(x)
        ax.set_xticklabels([
            str(reference[c].get('name') or reference[c]['index'])
            for c in order
        ])

    counts_ax = ax.twinx()
    counts_ax.plot(x, counts, color='black', marker='.', linewidth=1)
    counts_ax.set_yscale('log')
    counts_ax.set_ylabel('training images (log scale)')
    _legend_below(ax, len(per_class) + 3)
    ax.set_title('Per-class accuracy vs training frequency')
    _save(fig, out_file)


def plot_expert_preference(result: EvaluationResult, out_file: str) -> None:
    """Grouped bars of each expert's and the fused prediction's accuracy in
    the Many/Medium/Few groups.

    Args:
        result (EvaluationResult): A model evaluated with expert scores.
        out_file (str): PNG to write.
    """
    plt = _pyplot()
    table = expert_group_accuracy(result)
    bars = [(f'expert {m + 1}', table[m]) for m in range(len(table))]
    bars.append(
        ('mean of expert logits', [result.metrics[g] for g in SHOT_GROUPS]))
    sizes = _group_sizes(result.per_class)
    x = np.arange(len(SHOT_GROUPS))
    width = 0.8 / len(bars)
    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    for i, (label, accuracies) in enumerate(bars):
        drawn = ax.bar(
            x - 0.4 + width * (i + 0.5), accuracies, width, label=label)
        # Group means differ by a point or two: print them.
        ax.bar_label(drawn, fmt='%.1f', fontsize=7, padding=1)
    ax.set_xticks(x)
    ax.set_xticklabels(
        [f'{GROUP_TITLES[g]} ({sizes[g]} cls)' for g in SHOT_GROUPS])
    ax.set_ylim(*_zoomed_limits([a for _, row in bars for a in row]))
    ax.set_ylabel('mean per-class accuracy (%)')
    ax.set_title(f'{result.name}: accuracy of each expert by group')
    _legend_below(ax, len(bars))
    _save(fig, out_file)


def _same_curve(records: List[dict], key: str, other: str) -> bool:
    """Whether ``key`` equals ``other`` in every record that has ``key``
    (a run's only loss term is its total)."""
    pairs = [(r[key], r.get(other)) for r in records if key in r]
    return bool(pairs) and all(
        b is not None and np.isclose(a, b) for a, b in pairs)


def plot_learning_curves(runs: Dict[str, str], out_file: str) -> None:
    """Training losses, learning rate and validation accuracy per epoch, of
    one run or several overlaid (a baseline next to SHIKE, say).

    Reads MMEngine's ``vis_data/scalars.json`` with MMPretrain's
    ``load_json_log`` and, like MMPretrain's ``analyze_logs``, turns the
    training steps into epochs with the steps per epoch of the last
    record. Each run has its own colour; the line style (and, for the
    accuracy, the marker) tells the loss term or the metric apart. A loss
    term that equals the run's total wherever it is logged (a run trained
    with one loss, SHIKE's stage 2) is drawn once, as the total. A
    vertical line in the run's colour marks the start of its SHIKE stage 2
    (the first record with ``loss_bal``). One legend under the panels
    names the runs, the line styles and the stage line; the accuracy axis
    is zoomed to the logged values.

    Args:
        runs (dict[str, str]): Run name to its log file.
        out_file (str): PNG to write.
    """
    from matplotlib.lines import Line2D
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    losses_ax, lr_ax, accuracy_ax = axes
    accuracies, loss_keys, metric_keys = [], [], []
    other_styles = iter(OTHER_LOSS_STYLES * len(LOSS_STYLES))
    styles = dict(LOSS_STYLES)
    stage2 = False
    by_epoch = True
    run_labels = []
    for index, (name, scalars_json) in enumerate(runs.items()):
        colour = f'C{index}'
        log = load_json_log(scalars_json)
        train, val = log['train'], log['val']
        if not train:
            raise ValueError(f'{scalars_json} holds no training records')
        by_epoch = 'epoch' in train[-1]
        steps_per_epoch = train[-1]['step'] / train[-1]['epoch'] \
            if by_epoch else 1.0
        train_x = np.array([r['step'] for r in train]) / steps_per_epoch

        keys = sorted({k
                       for r in train
                       for k in r if k.startswith('loss')},
                      key=lambda k: (k != 'loss', k))
        folded = []
        for key in keys:
            if key != 'loss' and _same_curve(train, key, 'loss'):
                title = LOSS_TITLES.get(key, key)  # the total shows it
                folded.append(f'stage 2: total = {title}' if key ==
                              'loss_bal' else f'total = {title}')
                continue
            if key not in styles:
                styles[key] = next(other_styles)
            if key not in loss_keys:
                loss_keys.append(key)
            losses_ax.plot([x for x, r in zip(train_x, train) if key in r],
                           [r[key] for r in train if key in r],
                           color=colour,
                           linestyle=styles[key],
                           linewidth=2.0 if key == 'loss' else 1.2)
        run_labels.append(f'{name} ({"; ".join(folded)})' if folded else name)
        lr_ax.plot(train_x, [r['lr'] for r in train], color=colour)
        # Validation records are stamped with the epoch (or iteration).
        for key, (linestyle, marker) in METRIC_STYLES.items():
            points = [(r['step'], r[key]) for r in val if key in r]
            if points:
                if key not in metric_keys:
                    metric_keys.append(key)
                accuracy_ax.plot(
                    *zip(*points),
                    color=colour,
                    linestyle=linestyle,
                    marker=marker,
                    markersize=4)
                accuracies += [value for _, value in points]
        first_stage2 = next((r for r in train if 'loss_bal' in r), None)
        if first_stage2 is not None:
            stage2 = True
            # Stage 2 starts at an epoch boundary.
            switch = first_stage2['epoch'] - 1 if by_epoch \
                else first_stage2['step']
            for ax in axes:
                ax.axvline(
                    switch,
                    color=colour,
                    linestyle=':',
                    linewidth=1,
                    alpha=0.7)

    losses_ax.set_yscale('log')
    losses_ax.set_title('training losses')
    losses_ax.set_ylabel('loss (log scale)')
    lr_ax.set_title('learning rate')
    lr_ax.set_ylabel('learning rate')
    accuracy_ax.set_ylim(*_zoomed_limits(accuracies))
    accuracy_ax.set_title('validation accuracy')
    accuracy_ax.set_ylabel('accuracy (%)')
    for ax in axes:
        ax.set_xlabel('epoch' if by_epoch else 'iteration')

    handles = [
        Line2D([], [], color=f'C{i}', linewidth=4, label=label)
        for i, label in enumerate(run_labels)
    ]
    handles += [
        Line2D([], [],
               color='black',
               linestyle=styles[key],
               linewidth=2.0 if key == 'loss' else 1.2,
               label=f'loss: {LOSS_TITLES.get(key, key)}') for key in loss_keys
    ]
    handles += [
        Line2D([], [],
               color='black',
               linestyle=METRIC_STYLES[key][0],
               marker=METRIC_STYLES[key][1],
               markersize=4,
               label=f'accuracy: {CURVE_METRICS[key]}') for key in metric_keys
    ]
    if stage2:
        handles.append(
            Line2D([], [],
                   color='gray',
                   linestyle=':',
                   label='stage 2 starts (vertical line)'))
    fig.legend(
        handles=handles,
        loc='upper center',
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(len(handles), 6),
        fontsize='small',
        frameon=False)
    _save(fig, out_file)
