"""shike-mm: SHIKE long-tailed recognition as an MMPretrain plugin.

Importing the package registers every component into MMPretrain's
registries and routes MMEngine's local checkpoint loading through the safe
loader in :mod:`shike_mm.utils.checkpoint`.
"""
from .utils import register_safe_checkpoint_loader
from .version import __version__

register_safe_checkpoint_loader()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__']
