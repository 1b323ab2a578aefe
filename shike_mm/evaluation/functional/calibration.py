"""Calibration of top-1 predictions: reliability bins, expected, maximum
and adaptive calibration error, negative log-likelihood and Brier score.
:class:`~shike_mm.evaluation.metrics.LongTailMetric` reports them during
a run and :func:`shike_mm.apis.calibration_metrics` on logits."""
from typing import List, Tuple

import numpy as np


def _finite_or_none(confidences, correct):
    """float64 arrays of the inputs, or None if a confidence is not
    finite (a diverged model's prediction has no bin)."""
    confidences = np.asarray(confidences, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if not np.isfinite(confidences).all():
        return None
    return confidences, correct


def reliability_bins(
        confidences: np.ndarray,
        correct: np.ndarray,
        num_bins: int = 15) -> List[Tuple[int, float, float, float]]:
    """The non-empty equal-width confidence bins of a reliability diagram.

    Bin ``b`` holds confidences in ``(b / B, (b + 1) / B]`` (the first bin
    also holds 0).

    Args:
        confidences (np.ndarray): Finite confidences in [0, 1].
        correct (np.ndarray): Whether each prediction is right.
        num_bins (int): Number of bins ``B``. Defaults to 15.

    Returns:
        list[tuple[int, float, float, float]]: Per non-empty bin, in
        order: its index ``b``, the fraction of the samples in it, their
        accuracy and their mean confidence.
    """
    confidences = np.asarray(confidences, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    bins = np.clip(
        np.ceil(confidences * num_bins).astype(np.int64) - 1, 0, num_bins - 1)
    return [(int(b), float(
        (bins == b).mean()), float(correct[bins == b].mean()),
             float(confidences[bins == b].mean())) for b in np.unique(bins)]


def expected_calibration_error(confidences: np.ndarray,
                               correct: np.ndarray,
                               num_bins: int = 15) -> float:
    """Expected calibration error over equal-width confidence bins.

    ECE is the sample-weighted mean over the bins of
    :func:`reliability_bins` of ``|accuracy - mean confidence|``.

    Args:
        confidences (np.ndarray): Confidence of each prediction, in [0, 1].
        correct (np.ndarray): Whether each prediction is right.
        num_bins (int): Number of bins ``B``. Defaults to 15.

    Returns:
        float: ECE as a fraction in [0, 1]; NaN if a confidence is not
        finite (a diverged model), since such a prediction has no bin.
    """
    checked = _finite_or_none(confidences, correct)
    if checked is None:
        return float('nan')
    return float(
        sum(weight * abs(accuracy - confidence)
            for _, weight, accuracy, confidence in reliability_bins(
                *checked, num_bins)))


def maximum_calibration_error(confidences: np.ndarray,
                              correct: np.ndarray,
                              num_bins: int = 15) -> float:
    """Largest ``|accuracy - mean confidence|`` over the non-empty
    equal-width bins of :func:`reliability_bins`.

    Returns:
        float: MCE as a fraction in [0, 1]; NaN for a non-finite
        confidence.
    """
    checked = _finite_or_none(confidences, correct)
    if checked is None:
        return float('nan')
    return float(
        max(
            abs(accuracy - confidence)
            for _, _, accuracy, confidence in reliability_bins(
                *checked, num_bins)))


def adaptive_calibration_error(confidences: np.ndarray,
                               correct: np.ndarray,
                               num_bins: int = 15) -> float:
    """ECE over equal-mass bins (adaptive ECE, Nixon et al., 2019).

    The predictions, sorted by confidence (stably), are cut into
    ``num_bins`` runs whose sizes differ by at most one (``np.array_split``);
    the error is the sample-weighted mean of ``|accuracy - mean confidence|``
    over the runs. Equal-width bins leave most of a confident model's
    predictions in the last bin; equal-mass bins do not.

    Returns:
        float: Adaptive ECE as a fraction in [0, 1]; NaN for a non-finite
        confidence.
    """
    checked = _finite_or_none(confidences, correct)
    if checked is None:
        return float('nan')
    confidences, correct = checked
    order = np.argsort(confidences, kind='stable')
    error = 0.0
    for members in np.array_split(order, min(num_bins, len(order))):
        gap = abs(correct[members].mean() - confidences[members].mean())
        error += len(members) / len(order) * gap
    return float(error)


def negative_log_likelihood(true_scores: np.ndarray) -> float:
    """Mean ``-log p_y`` in nats, from the probability each prediction
    gives its true class.

    A probability below float32's smallest normal number (a softmax that
    underflowed) counts as that number, so one sample cannot make it
    infinite.

    Args:
        true_scores (np.ndarray): ``[N]`` probabilities ``p_y``.

    Returns:
        float: NLL; NaN if a score is not finite.
    """
    true_scores = np.asarray(true_scores, dtype=np.float64)
    if not np.isfinite(true_scores).all():
        return float('nan')
    floor = np.finfo(np.float32).tiny
    return float(-np.log(np.maximum(true_scores, floor)).mean())


def brier_score(true_scores: np.ndarray, sum_squares: np.ndarray) -> float:
    """Mean over samples of ``sum_c (p_c - [c = y])^2``, in [0, 2].

    Per sample this is ``sum_c p_c^2 - 2 p_y + 1``, so the probability of
    the true class and the sum of squared probabilities are all it needs.

    Args:
        true_scores (np.ndarray): ``[N]`` probabilities ``p_y``.
        sum_squares (np.ndarray): ``[N]`` sums ``sum_c p_c^2``.

    Returns:
        float: The Brier score; NaN if an input is not finite.
    """
    per_sample = (
        np.asarray(sum_squares, dtype=np.float64) -
        2 * np.asarray(true_scores, dtype=np.float64) + 1)
    if not np.isfinite(per_sample).all():
        return float('nan')
    return float(per_sample.mean())
