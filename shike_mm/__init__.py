"""shike-mm: SHIKE long-tailed recognition as an MMPretrain plugin.

Importing the package registers every component into MMPretrain's
registries, routes MMEngine's local checkpoint loading through the safe
loader in :mod:`shike_mm.utils.checkpoint`, makes ``shike_mm::`` config
names resolve in MMEngine and MMPretrain, and adds the SHIKE models to
MMPretrain's model hub (:mod:`shike_mm.utils.hub`).
"""
import warnings

# mmcv-lite has no compiled ops, so importing MMPretrain warns that the
# deformable attention of detection models is missing; no classifier uses
# it. Only that message, from that module, is silenced.
warnings.filterwarnings(
    'ignore',
    message='Fail to import ``MultiScaleDeformableAttention``',
    category=UserWarning,
    module=r'mmcv\.cnn\.bricks\.transformer')

try:
    import mmpretrain  # noqa: F401  (imports mmcv and mmengine)
except ModuleNotFoundError as error:
    if error.name not in ('mmcv', 'mmengine', 'mmpretrain'):
        raise
    raise ModuleNotFoundError(
        f'shike_mm needs MMPretrain, MMEngine and MMCV, but {error}. Install '
        'them with pip install "shike-mm[lite]" (OpenMMLab, mmcv-lite), '
        '"shike-mm[onedl]" (the OneDL forks, Python >= 3.10) or '
        '"shike-mm[openmmlab]" (next to an mmcv you have); see '
        'docs/install.md.',
        name=error.name) from error

from .utils import register_safe_checkpoint_loader  # noqa: E402
from .utils.hub import register_config_names  # noqa: E402
from .utils.hub import register_model_index  # noqa: E402
from .version import __version__  # noqa: E402

register_safe_checkpoint_loader()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

register_config_names()
register_model_index()

__all__ = ['__version__']
