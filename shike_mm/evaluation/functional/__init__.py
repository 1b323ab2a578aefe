from .calibration import (adaptive_calibration_error, brier_score,
                          expected_calibration_error,
                          maximum_calibration_error, negative_log_likelihood,
                          reliability_bins)

__all__ = [
    'expected_calibration_error', 'maximum_calibration_error',
    'adaptive_calibration_error', 'negative_log_likelihood', 'brier_score',
    'reliability_bins'
]
