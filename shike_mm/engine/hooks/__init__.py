from .checkpoint_match_hook import CheckpointMatchHook
from .stage_switch_hook import SHIKEStageSwitchHook

__all__ = ['CheckpointMatchHook', 'SHIKEStageSwitchHook']
