from .long_tail_metric import (LongTailMetric, adaptive_calibration_error,
                               brier_score, expected_calibration_error,
                               group_accuracy, maximum_calibration_error,
                               negative_log_likelihood, per_class_accuracy,
                               reliability_bins, shot_groups)

__all__ = [
    'LongTailMetric', 'expected_calibration_error',
    'maximum_calibration_error', 'adaptive_calibration_error',
    'negative_log_likelihood', 'brier_score', 'reliability_bins',
    'group_accuracy', 'per_class_accuracy', 'shot_groups'
]
