"""Find the logs a training run wrote."""
import glob
import os.path as osp


def find_scalars_json(work_dir: str) -> str:
    """The newest MMEngine ``vis_data/scalars.json`` of a work dir.

    Args:
        work_dir (str): A training work dir (holding ``<timestamp>/``
            folders), or a timestamp folder itself.

    Returns:
        str: Path of the newest ``scalars.json``.
    """
    candidates = glob.glob(osp.join(work_dir, 'vis_data', 'scalars.json'))
    candidates += glob.glob(
        osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    if not candidates:
        raise FileNotFoundError(
            f'No vis_data/scalars.json under {work_dir}: give the work dir '
            'of a training run that used the LocalVisBackend (the default '
            'of configs/_base_/default_runtime.py)')
    return max(candidates, key=osp.getmtime)
