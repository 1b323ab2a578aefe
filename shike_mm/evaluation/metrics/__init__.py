from .long_tail_metric import (LongTailMetric, expected_calibration_error,
                               shot_groups)

__all__ = ['LongTailMetric', 'expected_calibration_error', 'shot_groups']
