"""shike-mm: SHIKE long-tailed recognition as an MMPretrain plugin.

Importing the package registers every component into MMPretrain's
registries, routes MMEngine's local checkpoint loading through the safe
loader in :mod:`shike_mm.utils.checkpoint`, makes ``shike_mm::`` config
names resolve in MMEngine and MMPretrain, and adds the SHIKE models to
MMPretrain's model hub (:mod:`shike_mm.utils.hub`).
"""
from .utils import register_safe_checkpoint_loader
from .utils.hub import register_config_names, register_model_index
from .version import __version__

register_safe_checkpoint_loader()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

register_config_names()
register_model_index()

__all__ = ['__version__']
