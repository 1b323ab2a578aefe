"""Make ``shike_mm::`` config names and the SHIKE model index known to
MMEngine and MMPretrain.

``import shike_mm`` calls both functions below, so the names work in any
process that imported shike_mm before it loads a config.
"""
import os.path as osp
from typing import Optional

from mmengine.config import Config

from .config import PACKAGE_PREFIX, find_config, find_model_index

# Scope given to the components of a ``shike_mm::`` base config: they are
# registered in MMPretrain's registries (shike_mm has none of its own).
COMPONENT_SCOPE = 'mmpretrain'
# Marks a function this module installed, so registering twice is a no-op.
_MARK = '_shike_mm_wrapper'
_model_index_registered = False


def _is_ours(name) -> bool:
    return isinstance(name, str) and name.startswith(PACKAGE_PREFIX)


def _mark(function):
    setattr(function, _MARK, True)
    return function


def register_config_names() -> None:
    """Resolve ``shike_mm::<path>`` config names wherever MMEngine takes one.

    After this call a ``shike_mm::shike/shike_r32_digits-lt.py`` name works

    - in ``_base_`` of any config (``Config._get_cfg_path``);
    - as a file name for ``Config.fromfile``, and so for
      ``mmpretrain.get_model``, ``init_model`` and the inferencers, which
      load ``*.py`` names with it;
    - in ``mmengine.hub.get_config``.

    Names with any other prefix go to MMEngine unchanged.
    """
    # MMEngine's own ``pkg::`` lookup (0.10.7) cannot serve shike_mm. Adding
    # our name to its ``MODULE2PACKAGE`` table (how MMEngine admits a
    # package) only passes its first check: it then finds the package with
    # ``pkg_resources``, gone from setuptools >= 82; it reads
    # ``<site-packages>/shike_mm/.mim``, which an editable (PEP 660) install
    # lacks; and it scopes the base's components to ``shike_mm``, which has
    # no registries, so they do not build. So the three entry points that
    # take a ``pkg::`` name hand ours to ``find_config`` (wheel or checkout)
    # and pass every other name to MMEngine unchanged.
    if getattr(Config._get_cfg_path, _MARK, False):
        return
    get_cfg_path = Config._get_cfg_path
    fromfile = Config.fromfile

    @_mark
    def _get_cfg_path(cfg_path, filename):
        if _is_ours(cfg_path):
            return find_config(cfg_path), COMPONENT_SCOPE
        return get_cfg_path(cfg_path, filename)

    @_mark
    def _fromfile(filename, *args, **kwargs):
        if _is_ours(filename):
            filename = find_config(filename)
        return fromfile(filename, *args, **kwargs)

    Config._get_cfg_path = staticmethod(_get_cfg_path)
    Config.fromfile = staticmethod(_fromfile)

    import mmengine.hub
    import mmengine.hub.hub as hub_module
    get_config = hub_module.get_config

    @_mark
    def _get_config(cfg_path: str, pretrained: bool = False) -> Config:
        if not _is_ours(cfg_path):
            return get_config(cfg_path, pretrained)
        path = find_config(cfg_path)
        cfg = Config.fromfile(path)
        if pretrained:
            weights = _released_weights(path)
            if weights is None:
                raise ValueError(
                    f'{cfg_path} has no released checkpoint in '
                    f'{find_model_index()[0]}; pass one to '
                    'mmpretrain.get_model(name, pretrained=PATH) instead.')
            cfg.model_path = weights
        return cfg

    # ``mmengine.hub`` re-exports the function, ``get_model`` calls it.
    hub_module.get_config = _get_config
    mmengine.hub.get_config = _get_config


def _released_weights(config_path: str) -> Optional[str]:
    """The ``Weights`` of the model index entry of ``config_path``, if any."""
    from modelindex.load_model_index import load
    index_path, root = find_model_index()
    index = load(index_path)
    index.build_models_with_collections()
    for model in index.models:
        path = osp.join(root, model.config or '')
        if osp.realpath(path) == osp.realpath(config_path) and model.weights:
            return model.weights
    return None


def register_model_index() -> None:
    """Add the models of shike_mm's ``model-index.yml`` to MMPretrain's
    model hub, so ``mmpretrain.list_models``, ``get_model(name)`` and the
    inferencers know them by name."""
    global _model_index_registered
    if _model_index_registered:
        return  # MMPretrain refuses a model name twice
    from mmpretrain.apis import ModelHub
    index_path, root = find_model_index()
    ModelHub.register_model_index(index_path, config_prefix=root)
    _model_index_registered = True
