"""Make ``shike_mm::`` config names and the SHIKE model index known to
MMEngine and MMPretrain.

``import shike_mm`` calls both functions below, so the names work in any
process that imported shike_mm before it loads a config.
"""
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader

from .config import PACKAGE_PREFIX, find_config, find_model_index

# Scope given to the components of a ``shike_mm::`` base config: they are
# registered in MMPretrain's registries (shike_mm has none of its own).
COMPONENT_SCOPE = 'mmpretrain'
# Marks a function this module installed, so registering twice is a no-op.
_MARK = '_shike_mm_wrapper'
_model_index_registered = False
# Model-index name -> its config (relative to the repository root), for the
# entries without weights.
_unpublished_configs = {}
# ``Weights`` given to a model-index entry that has none, so that
# ``get_model(name, pretrained=True)`` reaches :func:`load_from_unpublished`
# instead of building an untrained model with only a warning.
UNPUBLISHED_PREFIX = 'shike-mm-unpublished://'
CONVERTER = 'tools/model_converters/shike_official_to_mm.py'


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


def load_from_unpublished(filename: str, map_location=None):
    """The checkpoint loader of :data:`UNPUBLISHED_PREFIX` (MMEngine logs it
    as the "unpublished" backend): an error that says how to get weights
    for the model."""
    name = filename[len(UNPUBLISHED_PREFIX):]
    config = _unpublished_configs.get(name, 'CONFIG')
    raise ValueError(
        f'{name} has no published weights (the SHIKE model index lists '
        'none), so pretrained=True has nothing to load. Train it with '
        f'"python tools/train.py {config}", or convert a checkpoint of the '
        f'official SHIKE code (ResNet-32 models) with "python {CONVERTER} '
        'OFFICIAL.pth.tar shike.pth"; then load that file with '
        f"get_model('{name}', pretrained='shike.pth'). pretrained=False "
        'builds the model untrained.')


def register_model_index() -> None:
    """Add the models of shike_mm's ``model-index.yml`` to MMPretrain's
    model hub, so ``mmpretrain.list_models``, ``get_model(name)`` and the
    inferencers know them by name.

    An entry without ``Weights`` gets :data:`UNPUBLISHED_PREFIX` as its
    weights: ``get_model(name, pretrained=True)`` (and an inferencer's
    default ``pretrained=True``) then fail with the training and
    conversion commands, instead of returning an untrained model.
    """
    global _model_index_registered
    if _model_index_registered:
        return  # MMPretrain refuses a model name twice
    from mmpretrain.apis import ModelHub
    from modelindex.load_model_index import load
    index_path, root = find_model_index()
    ModelHub.register_model_index(index_path, config_prefix=root)
    CheckpointLoader.register_scheme(
        prefixes=UNPUBLISHED_PREFIX, loader=load_from_unpublished, force=True)
    index = load(index_path)
    index.build_models_with_collections()
    for model in index.models:
        if not model.weights:
            # MMPretrain keeps no public handle on its registered entries.
            registered = ModelHub._models_dict[model.name.lower()]
            registered.weights = UNPUBLISHED_PREFIX + model.name
            _unpublished_configs[model.name] = model.config
    _model_index_registered = True
