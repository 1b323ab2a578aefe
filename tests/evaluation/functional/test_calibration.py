"""The calibration functions against hand-computed values."""
import math

import pytest

from shike_mm.evaluation.functional import (adaptive_calibration_error,
                                            brier_score,
                                            expected_calibration_error,
                                            maximum_calibration_error,
                                            negative_log_likelihood)


def test_ece_by_hand():
    # Bins of width 0.5 with num_bins=2: (0, 0.5] and (0.5, 1].
    #   low: 0.3 right, 0.5 wrong -> acc 0.5, conf 0.4, gap 0.1, weight 2/5
    #   high: 0.6 right, 0.9 right, 1.0 wrong -> acc 2/3, conf 2.5/3,
    #         gap 0.5/3, weight 3/5
    #   ECE = 0.4 * 0.1 + 0.6 * (0.5 / 3) = 0.04 + 0.1 = 0.14
    confidences = [0.3, 0.5, 0.6, 0.9, 1.0]
    correct = [True, False, True, True, False]
    assert expected_calibration_error(confidences, correct, 2) == \
        pytest.approx(0.14)
    # A perfectly calibrated bin contributes nothing.
    assert expected_calibration_error([0.5, 0.5], [True, False], 15) == \
        pytest.approx(0.0)


def test_mce_and_adaptive_ece_by_hand():
    confidences = [0.3, 0.5, 0.6, 0.9, 1.0]
    correct = [True, False, True, True, False]
    # Equal-width bins of test_ece_by_hand: gaps 0.1 and 0.5 / 3.
    assert maximum_calibration_error(confidences, correct, 2) == \
        pytest.approx(0.5 / 3)
    # Equal mass, 2 bins of sorted confidences: {0.3 r, 0.5 w, 0.6 r}
    #   acc 2/3, conf 1.4/3, gap 0.6/3, weight 3/5; {0.9 r, 1.0 w} acc 1/2,
    #   conf 0.95, gap 0.45, weight 2/5 -> 0.12 + 0.18 = 0.30.
    assert adaptive_calibration_error(confidences, correct, 2) == \
        pytest.approx(0.30)
    # Unsorted input gives the same.
    assert adaptive_calibration_error(confidences[::-1], correct[::-1],
                                      2) == pytest.approx(0.30)


def test_nll_and_brier_by_hand():
    # p_y = 0.5 and 0.25: NLL = (log 2 + log 4) / 2.
    assert negative_log_likelihood([0.5, 0.25]) == pytest.approx(
        (math.log(2) + math.log(4)) / 2)
    # Scores (0.5, 0.5) with y = 0: 0.25 + 0.25; (0.25, 0.75) with y = 0:
    # 0.5625 + 0.5625.
    assert brier_score([0.5, 0.25], [0.5, 0.625]) == pytest.approx(
        (0.5 + 1.125) / 2)
    # An underflowed softmax stays finite.
    assert math.isfinite(negative_log_likelihood([0.0, 1.0]))


@pytest.mark.parametrize('error', [
    expected_calibration_error, maximum_calibration_error,
    adaptive_calibration_error
])
def test_binned_errors_are_nan_for_non_finite_confidences(error):
    assert math.isnan(error([0.9, float('inf')], [True, False], 15))


def test_ece_is_nan_for_non_finite_confidences():
    assert math.isnan(
        expected_calibration_error([0.9, float('nan')], [True, False], 15))
