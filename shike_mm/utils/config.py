"""Locate the configs that ship with shike_mm."""
import os.path as osp

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_ROOTS = (
    osp.join(PACKAGE_DIR, '.mim', 'configs'),  # installed copy
    osp.join(osp.dirname(PACKAGE_DIR), 'configs'),  # checkout
)
PACKAGE_PREFIX = 'shike_mm::'


def find_config(name: str) -> str:
    """Resolve a config given as a path, or relative to the shipped configs.

    Args:
        name (str): A file path, ``shike/shike_r32_cifar100-lt-if100.py``,
            ``configs/shike/...`` or ``shike_mm::shike/...``.

    Returns:
        str: The path of an existing config file.
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
    raise FileNotFoundError(
        f'Config {name} not found as a file nor under the shipped configs '
        f'({", ".join(CONFIG_ROOTS)}).')
