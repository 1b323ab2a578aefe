"""Temperature scaling: fit the temperature and measure calibration
(:func:`~shike_mm.apis.plots.plot_reliability_diagram` draws it)."""
import math
from typing import Dict

import torch
import torch.nn.functional as F

from shike_mm.evaluation.functional import (adaptive_calibration_error,
                                            brier_score,
                                            expected_calibration_error,
                                            maximum_calibration_error,
                                            negative_log_likelihood)

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
