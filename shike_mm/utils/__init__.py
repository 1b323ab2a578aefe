from .checkpoint import (CorruptCheckpointError, UntrustedCheckpointError,
                         allowed_checkpoint_globals, checkpoints_trusted,
                         load_local_checkpoint,
                         register_safe_checkpoint_loader)
from .config import find_config
from .dist import release_distributed, setup_cpu_distributed
from .threads import configure_cpu_threads

__all__ = [
    'CorruptCheckpointError', 'UntrustedCheckpointError',
    'allowed_checkpoint_globals', 'checkpoints_trusted',
    'load_local_checkpoint', 'register_safe_checkpoint_loader', 'find_config',
    'release_distributed', 'setup_cpu_distributed', 'configure_cpu_threads'
]
