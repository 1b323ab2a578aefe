from .long_tail_metric import (SHOT_GROUPS, LongTailMetric, group_accuracy,
                               per_class_accuracy, shot_groups)

__all__ = [
    'SHOT_GROUPS', 'LongTailMetric', 'group_accuracy', 'per_class_accuracy',
    'shot_groups'
]
