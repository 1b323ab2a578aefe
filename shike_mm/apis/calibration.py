"""Temperature scaling: fit the temperature, measure calibration, draw
the reliability diagram."""
import math
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from shike_mm.evaluation.metrics.long_tail_metric import (
    adaptive_calibration_error, brier_score, expected_calibration_error,
    maximum_calibration_error, negative_log_likelihood, reliability_bins)
from .analysis import _legend_below, _pyplot, _save

#: Where :func:`fit_temperature` searches, and how closely (in log T).
TEMPERATURE_BOUNDS = (0.01, 100.0)
LOG_TEMPERATURE_TOL = 1e-6
_GOLDEN = (math.sqrt(5) - 1) / 2


def nll_at_temperature(logits: torch.Tensor, labels: torch.Tensor,
                       temperature: float) -> float:
    """Mean ``-log softmax(logits / T)_y`` in float64."""
    return float(F.cross_entropy(logits.double() / temperature, labels.long()))


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature ``T`` minimising the NLL of ``softmax(logits / T)``
    (Guo et al., ICML 2017).

    The NLL is convex in ``1 / T``, so it has one minimum in ``log T``;
    a golden-section search finds it within ``TEMPERATURE_BOUNDS`` to
    ``LOG_TEMPERATURE_TOL``.

    Args:
        logits (Tensor): ``[N, C]`` held-out logits (never the test split).
        labels (Tensor): ``[N]`` their labels.

    Returns:
        float: ``T``; a value at a bound means the optimum lies beyond it.
    """

    def nll(log_t):
        return nll_at_temperature(logits, labels, math.exp(log_t))

    low, high = (math.log(b) for b in TEMPERATURE_BOUNDS)
    left, right = high - _GOLDEN * (high - low), low + _GOLDEN * (high - low)
    nll_left, nll_right = nll(left), nll(right)
    while high - low > LOG_TEMPERATURE_TOL:
        if nll_left < nll_right:
            high, right, nll_right = right, left, nll_left
            left = high - _GOLDEN * (high - low)
            nll_left = nll(left)
        else:
            low, left, nll_left = left, right, nll_right
            right = low + _GOLDEN * (high - low)
            nll_right = nll(right)
    return math.exp((low + high) / 2)


def calibration_metrics(logits: torch.Tensor,
                        labels: torch.Tensor,
                        num_bins: int = 15) -> Dict[str, float]:
    """Top-1 accuracy and the calibration metrics of LongTailMetric
    (``ece``, ``mce``, ``adaptive_ece`` and ``top1`` in percent, ``nll``
    in nats, ``brier``) of ``softmax(logits)``.

    Args:
        logits (Tensor): ``[N, C]`` logits (already divided by ``T``).
        labels (Tensor): ``[N]`` labels.
        num_bins (int): Bins of the ECE, MCE and adaptive ECE. Defaults to
            15.
    """
    scores = torch.softmax(logits.double(), dim=1)
    labels = labels.long()
    confidences, preds = scores.max(dim=1)
    confidences, correct = confidences.numpy(), (preds == labels).numpy()
    true_scores = scores.gather(1, labels[:, None])[:, 0].numpy()
    return {
        'top1':
        100.0 * float(correct.mean()),
        'ece':
        100.0 * expected_calibration_error(confidences, correct, num_bins),
        'mce':
        100.0 * maximum_calibration_error(confidences, correct, num_bins),
        'adaptive_ece':
        100.0 * adaptive_calibration_error(confidences, correct, num_bins),
        'nll':
        negative_log_likelihood(true_scores),
        'brier':
        brier_score(true_scores,
                    scores.square().sum(dim=1).numpy()),
    }


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
    _save(fig, out_file)
