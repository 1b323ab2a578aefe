from .long_tail_metric import (LongTailMetric, expected_calibration_error,
                               group_accuracy, per_class_accuracy,
                               shot_groups)

__all__ = [
    'LongTailMetric', 'expected_calibration_error', 'group_accuracy',
    'per_class_accuracy', 'shot_groups'
]
