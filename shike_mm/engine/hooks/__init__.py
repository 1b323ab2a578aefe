from .stage_switch_hook import SHIKEStageSwitchHook

__all__ = ['SHIKEStageSwitchHook']
