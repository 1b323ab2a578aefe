"""What a user calls from a script or notebook: build a classifier for
MMPretrain's inferencers, evaluate a checkpoint on the long-tailed groups,
calibrate it, test it under prior shift, aggregate its experts, count its
FLOPs, and format and plot the results. The tools in
``tools/analysis_tools`` are thin command lines over these functions."""
from .analysis import (EvaluationResult, evaluate_checkpoint,
                       expert_group_accuracy, load_per_class)
from .expert_aggregation import AggregationResult, learn_expert_weights
from .flops import complexity, input_size
from .inference import get_classifier
from .model_outputs import (LoadedModel, ModelOutputs, check_split,
                            collect_outputs, is_multi_expert, load_model,
                            split_dataloader, two_view_expert_logits)
from .plots import (plot_class_accuracy, plot_expert_preference,
                    plot_learning_curves, plot_prior_shift,
                    plot_reliability_diagram)
from .prior_shift import default_trained_on, evaluate_prior_shift, summarise
from .tables import (format_expert_table, format_group_table,
                     format_prior_shift_table)
from .temperature_scaling import calibration_metrics, fit_temperature
from .training_logs import find_scalars_json

__all__ = [
    'EvaluationResult', 'evaluate_checkpoint', 'expert_group_accuracy',
    'load_per_class', 'AggregationResult', 'learn_expert_weights',
    'complexity', 'input_size', 'get_classifier', 'LoadedModel',
    'ModelOutputs', 'check_split', 'collect_outputs', 'is_multi_expert',
    'load_model', 'split_dataloader', 'two_view_expert_logits',
    'plot_class_accuracy', 'plot_expert_preference', 'plot_learning_curves',
    'plot_prior_shift', 'plot_reliability_diagram', 'default_trained_on',
    'evaluate_prior_shift', 'summarise', 'format_expert_table',
    'format_group_table', 'format_prior_shift_table', 'calibration_metrics',
    'fit_temperature', 'find_scalars_json'
]
