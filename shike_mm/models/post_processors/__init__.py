from .chain import PostProcessorChain
from .logit_adjustment import LogitAdjustment
from .target_prior_adjustment import TargetPriorAdjustment
from .temperature_scaling import TemperatureScaling

__all__ = [
    'PostProcessorChain', 'LogitAdjustment', 'TargetPriorAdjustment',
    'TemperatureScaling'
]
