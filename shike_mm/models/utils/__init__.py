from .clip_text_encoder import CLIPTextEncoder
from .normed_linear import NormedLinear
from .weight_init import KAIMING_FAN_IN

__all__ = ['NormedLinear', 'KAIMING_FAN_IN', 'CLIPTextEncoder']
