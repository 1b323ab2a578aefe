from .checkpoint_match_hook import CheckpointMatchHook
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .stage_switch_hook import SHIKEStageSwitchHook

__all__ = [
    'CheckpointMatchHook', 'NonFiniteLossError', 'NonFiniteLossHook',
    'SHIKEStageSwitchHook'
]
