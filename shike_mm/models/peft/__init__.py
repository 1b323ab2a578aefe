from .adaptformer import (AdaptFormer, AdaptFormerLayer, AdaptFormerModel,
                          lift_bottleneck_dims)
from .expert_adaptformer import ExpertAdaptFormerLayer, ExpertAdaptFormerModel
from .expert_lora import ExpertLoRALinear, ExpertLoRAModel
from .experts import FanOut, spread_depths
from .pretrained_base import (PretrainedBase, base_weights_of,
                              base_weights_problems, state_dict_sha256)
from .token_dkf import TokenDKF

__all__ = [
    'AdaptFormer', 'AdaptFormerLayer', 'AdaptFormerModel',
    'ExpertAdaptFormerLayer', 'ExpertAdaptFormerModel', 'ExpertLoRALinear',
    'ExpertLoRAModel', 'FanOut', 'spread_depths', 'lift_bottleneck_dims',
    'PretrainedBase', 'base_weights_of', 'base_weights_problems',
    'state_dict_sha256', 'TokenDKF'
]
