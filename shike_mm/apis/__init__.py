"""What a user calls from a script or notebook: build a classifier for
MMPretrain's inferencers, evaluate a checkpoint on the long-tailed groups,
calibrate it, test it under prior shift, aggregate its experts, count its
FLOPs. The tools in ``tools/analysis_tools`` are thin command lines over
these functions."""
from .analysis import (EvaluationResult, evaluate_checkpoint,
                       expert_group_accuracy, find_scalars_json,
                       format_expert_table, format_group_table, load_per_class,
                       plot_class_accuracy, plot_expert_preference,
                       plot_learning_curves)
from .calibration import (calibration_metrics, fit_temperature,
                          plot_reliability_diagram)
from .expert_aggregation import AggregationResult, learn_expert_weights
from .flops import complexity, input_size
from .inference import get_classifier
from .model_outputs import (LoadedModel, ModelOutputs, collect_outputs,
                            is_multi_expert, load_model, split_dataloader,
                            two_view_expert_logits)
from .prior_shift import (default_trained_on, evaluate_prior_shift,
                          format_prior_shift_table, plot_prior_shift,
                          summarise)

__all__ = [
    'EvaluationResult', 'evaluate_checkpoint', 'expert_group_accuracy',
    'find_scalars_json', 'format_expert_table', 'format_group_table',
    'load_per_class', 'plot_class_accuracy', 'plot_expert_preference',
    'plot_learning_curves', 'calibration_metrics', 'fit_temperature',
    'plot_reliability_diagram', 'AggregationResult', 'learn_expert_weights',
    'complexity', 'input_size', 'get_classifier', 'LoadedModel',
    'ModelOutputs', 'collect_outputs', 'is_multi_expert', 'load_model',
    'split_dataloader', 'two_view_expert_logits', 'default_trained_on',
    'evaluate_prior_shift', 'format_prior_shift_table', 'plot_prior_shift',
    'summarise'
]
