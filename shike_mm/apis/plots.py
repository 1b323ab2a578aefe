"""The analysis plots, written as PNGs with matplotlib's Agg backend
(matplotlib is imported only when one is drawn; install it with the
``demo`` extra):

- :func:`plot_class_accuracy`: per-class accuracy against training
  frequency;
- :func:`plot_expert_preference`: each expert's Many/Medium/Few accuracy;
- :func:`plot_learning_curves`: losses, learning rate and validation
  accuracy of training runs;
- :func:`plot_reliability_diagram`: confidence against accuracy, before and
  after temperature scaling;
- :func:`plot_prior_shift`: accuracy across test priors.
"""
import os
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np
import torch
from mmengine.logging import print_log
from mmpretrain.utils import load_json_log

from shike_mm.evaluation.functional import reliability_bins
from shike_mm.evaluation.metrics import SHOT_GROUPS
from .analysis import (GROUP_TITLES, EvaluationResult, expert_group_accuracy,
                       group_sizes)
from .prior_shift import METHODS
from .temperature_scaling import calibration_metrics

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


def zoomed_limits(values, margin: float = 5.0) -> Tuple[float, float]:
    """Accuracy-axis limits around ``values`` (percent), so that small
    differences stay visible; within [0, 100 + margin]."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 100.0 + margin
    return (max(0.0, np.floor(values.min() - margin)),
            min(100.0 + margin, np.ceil(values.max() + margin)))


def save_figure(fig, out_file: str) -> None:
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
    save_figure(fig, out_file)


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
    sizes = group_sizes(result.per_class)
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
    ax.set_ylim(*zoomed_limits([a for _, row in bars for a in row]))
    ax.set_ylabel('mean per-class accuracy (%)')
    ax.set_title(f'{result.name}: accuracy of each expert by group')
    _legend_below(ax, len(bars))
    save_figure(fig, out_file)


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
    accuracy_ax.set_ylim(*zoomed_limits(accuracies))
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
    save_figure(fig, out_file)


def plot_reliability_diagram(panels: Dict[str, Tuple[torch.Tensor,
                                                     torch.Tensor]],
                             out_file: str,
                             num_bins: int = 15) -> None:
    """Reliability diagrams side by side: per equal-width confidence bin,
    the accuracy (bars) against the mean confidence (the diagonal is
    perfect calibration), with each bin's share of the samples.

    Args:
        panels (dict[str, tuple[Tensor, Tensor]]): Title to ``(logits,
            labels)``, e.g. before and after temperature scaling.
        out_file (str): PNG to write.
        num_bins (int): Bins. Defaults to 15.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5.2 * len(panels), 5.0), squeeze=False)
    for ax, (title, (logits, labels)) in zip(axes[0], panels.items()):
        scores = torch.softmax(logits.double(), dim=1)
        confidences, preds = scores.max(dim=1)
        correct = (preds == labels.long()).numpy()
        index, share, accuracy, confidence = zip(
            *reliability_bins(confidences.numpy(), correct, num_bins))
        width = 1 / num_bins
        left = np.asarray(index) * width
        ax.bar(
            left,
            accuracy,
            width,
            align='edge',
            color='#4c72b0',
            edgecolor='white',
            label='accuracy')
        ax.bar(
            left,
            np.subtract(confidence, accuracy),
            width,
            bottom=accuracy,
            align='edge',
            color='#c44e52',
            alpha=0.35,
            label='gap to mean confidence')
        ax.plot([0, 1], [0, 1],
                color='black',
                linestyle='--',
                linewidth=1,
                label='perfect calibration')
        share_ax = ax.twinx()
        share_ax.plot(
            left + width / 2, share, color='gray', marker='.', linewidth=1)
        share_ax.set_ylim(0, 1)
        share_ax.set_ylabel('share of samples (gray)')
        metrics = calibration_metrics(logits, labels, num_bins)
        ax.set_title(f'{title}\nECE {metrics["ece"]:.2f}%, '
                     f'NLL {metrics["nll"]:.3f}')
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel('confidence (max softmax score)')
        ax.set_ylabel('accuracy')
        _legend_below(ax, 3)
    save_figure(fig, out_file)


def plot_prior_shift(summary: Dict[str, dict], title: str,
                     out_file: str) -> None:
    """Accuracy against the test prior, one line per method, with the
    spread over models as error bars.

    Args:
        summary (dict): What :func:`summarise` returns.
        title (str): Title of the plot.
        out_file (str): PNG to write.
    """
    plt = _pyplot()
    names = list(summary)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(9.0, 4.8))
    values = []
    for method, label in METHODS.items():
        means = [summary[n]['accuracy'][method][0] for n in names]
        spreads = [summary[n]['accuracy'][method][1] for n in names]
        ax.errorbar(x, means, yerr=spreads, marker='o', capsize=3, label=label)
        values += means
    ax.axvline(
        names.index('uniform'), color='gray', linewidth=1, linestyle=':')
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=30)
    ax.set_ylim(*zoomed_limits(values, margin=2.0))
    ax.set_xlabel('test class prior (forward: head classes frequent)')
    ax.set_ylabel('top-1 accuracy (%)')
    ax.set_title(title)
    # Below the rotated tick labels and the axis title.
    ax.legend(
        loc='upper center',
        bbox_to_anchor=(0.5, -0.32),
        ncol=2,
        fontsize='small',
        frameon=False)
    save_figure(fig, out_file)
