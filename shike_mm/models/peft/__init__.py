from .adaptformer import (AdaptFormer, AdaptFormerLayer, AdaptFormerModel,
                          lift_bottleneck_dims)
from .pretrained_base import (PretrainedBase, base_weights_of,
                              base_weights_problems, state_dict_sha256)

__all__ = [
    'AdaptFormer', 'AdaptFormerLayer', 'AdaptFormerModel',
    'lift_bottleneck_dims', 'PretrainedBase', 'base_weights_of',
    'base_weights_problems', 'state_dict_sha256'
]
