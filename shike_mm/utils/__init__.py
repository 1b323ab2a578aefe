from .checkpoint import (CorruptCheckpointError, UntrustedCheckpointError,
                         allowed_checkpoint_globals, checkpoints_trusted,
                         load_local_checkpoint,
                         register_safe_checkpoint_loader)
from .config import find_config

__all__ = [
    'CorruptCheckpointError', 'UntrustedCheckpointError',
    'allowed_checkpoint_globals', 'checkpoints_trusted',
    'load_local_checkpoint', 'register_safe_checkpoint_loader', 'find_config'
]
