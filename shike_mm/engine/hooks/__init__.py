from .atomic_checkpoint_hook import AtomicCheckpointHook
from .channel_order_check_hook import ChannelOrderCheckHook
from .channels_last_hook import ChannelsLastHook
from .checkpoint_match_hook import CheckpointMatchHook
from .class_counts_hook import ClassCountsHook
from .image_size_check_hook import ImageSizeCheckHook
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .stage_switch_hook import SHIKEStageSwitchHook
from .training_plan_check_hook import TrainingPlanCheckHook

__all__ = [
    'AtomicCheckpointHook', 'ChannelOrderCheckHook', 'ChannelsLastHook',
    'CheckpointMatchHook', 'ClassCountsHook', 'ImageSizeCheckHook',
    'NonFiniteLossError', 'NonFiniteLossHook', 'SHIKEStageSwitchHook',
    'TrainingPlanCheckHook'
]
