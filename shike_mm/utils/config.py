"""Locate the configs and the model index that ship with shike_mm, and read
a config's evaluator field as a list of metric configs."""
import glob
import os.path as osp
from typing import List, Tuple

from mmengine.logging import print_log

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Where the configs, tools and model-index.yml live: ``shike_mm/.mim`` in an
# installed wheel, the repository root in a checkout (editable install).
RESOURCE_ROOTS = (
    osp.join(PACKAGE_DIR, '.mim'),  # installed copy
    osp.dirname(PACKAGE_DIR),  # checkout
)
CONFIG_ROOTS = tuple(osp.join(root, 'configs') for root in RESOURCE_ROOTS)
PACKAGE_PREFIX = 'shike_mm::'
MODEL_INDEX = 'model-index.yml'


def find_config(name: str) -> str:
    """Resolve a config given as a path, or relative to the shipped configs.

    A bare file name (``shike_r32_digits-lt.py``) is looked up in the
    shipped config folders only, never in work dirs (where MMEngine writes
    a copy of every run's config) or build folders; the log says which
    file it took.

    Args:
        name (str): A file path, ``shike/shike_r32_cifar100-lt-if100.py``,
            ``configs/shike/...``, ``shike_mm::shike/...`` or a bare file
            name such as ``shike_r32_cifar100-lt-if100.py``.

    Returns:
        str: The path of an existing config file.

    Raises:
        FileNotFoundError: If no config has that name.
        ValueError: If a bare file name matches several shipped configs.
    """
    if osp.isfile(name) and not name.startswith(PACKAGE_PREFIX):
        return name
    relative = name[len(PACKAGE_PREFIX):] if name.startswith(
        PACKAGE_PREFIX) else name
    if relative.startswith('configs/'):
        relative = relative[len('configs/'):]
    for root in CONFIG_ROOTS:
        candidate = osp.join(root, relative)
        if osp.isfile(candidate):
            return candidate
    if '/' not in relative:
        for root in CONFIG_ROOTS:
            found = sorted(
                glob.glob(osp.join(root, '**', relative), recursive=True))
            if len(found) > 1:
                raise ValueError(
                    f'Config name {name} matches {len(found)} shipped '
                    f'configs: {", ".join(found)}; give its path')
            if found:
                print_log(
                    f'Config {name}: using {found[0]} (the shipped configs '
                    'only, not work dirs)',
                    logger='current')
                return found[0]
    raise FileNotFoundError(
        f'Config {name} not found as a file nor under the shipped configs '
        f'({", ".join(CONFIG_ROOTS)}).')


def find_model_index() -> Tuple[str, str]:
    """Locate the shipped ``model-index.yml``.

    Returns:
        tuple[str, str]: The path of ``model-index.yml`` and the folder its
        ``Config`` paths are relative to.
    """
    for root in RESOURCE_ROOTS:
        path = osp.join(root, MODEL_INDEX)
        if osp.isfile(path):
            return path, root
    raise FileNotFoundError(
        f'{MODEL_INDEX} not found in {" nor ".join(RESOURCE_ROOTS)}; a '
        'wheel built without setup.py (which copies it into shike_mm/.mim) '
        'lacks it.')


def metric_configs(evaluator) -> List[dict]:
    """The metric configs of a config's evaluator (``val_evaluator``,
    ``test_evaluator``), which MMEngine takes as one config or a list.

    Args:
        evaluator (dict | list[dict]): The evaluator field.

    Returns:
        list[dict]: Its metric configs, in order.
    """
    if isinstance(evaluator, (list, tuple)):
        return list(evaluator)
    return [evaluator]
