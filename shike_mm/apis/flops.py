"""FLOPs and parameters of a model, in total and per part of a SHIKE model,
shared by ``tools/analysis_tools/get_flops.py`` and
``tools/analysis_tools/benchmark_train.py``."""
from typing import Optional, Tuple

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config

# Parts of a model, as (column title, parameter-name prefix).
PARTS = (
    ('trunk', 'backbone'),
    ('experts', 'neck.expert_stages'),
    ('aligners', 'neck.aligners'),
    ('head', 'head'),
)

#: Transforms that fix the output size, and the argument that gives it.
_SIZE_TRANSFORMS = {
    'CenterCrop': 'crop_size',
    'Resize': 'scale',
    'RandomCrop': 'crop_size',
    'RandomResizedCrop': 'scale',
}


def _fixed_size(pipeline: list) -> Optional[Tuple[int, int]]:
    """The output size of the last transform that fixes it, or None."""
    for transform in reversed(pipeline or []):
        key = _SIZE_TRANSFORMS.get(str(transform.get('type')).split('.')[-1])
        size = transform.get(key) if key else None
        if isinstance(size, int):
            return size, size
        if isinstance(size, (tuple, list)) and len(size) == 2:
            # MMCV scales are (width, height).
            return int(size[1]), int(size[0])
    return None


def input_size(cfg: Config) -> Tuple[int, int]:
    """The ``(height, width)`` of the images a config's model predicts on:
    the size its test pipeline produces, or, for in-memory datasets whose
    test pipeline keeps the stored size (CIFAR), the size its training
    pipeline crops to.

    Args:
        cfg (Config): The config.

    Returns:
        tuple[int, int]: Height and width.

    Raises:
        ValueError: If neither pipeline fixes the size.
    """
    for loader in ('test_dataloader', 'train_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        size = _fixed_size(dataset.get('pipeline'))
        if size:
            return size
    raise ValueError(
        'Cannot tell the input size of this config: neither its test nor '
        'its training pipeline has a crop or resize to a fixed size; give '
        'it explicitly (--shape)')


def complexity(model: torch.nn.Module, height: int, width: int) -> dict:
    """FLOPs and parameters of ``model`` on one ``3 x height x width``
    image, in total and per part of :data:`PARTS`.

    FLOPs come from MMEngine's complexity analysis, which counts one
    multiply-add as one FLOP, of the whole inference forward in eval mode.

    Args:
        model (torch.nn.Module): The model, on the CPU; left in eval mode.
        height (int): Input height.
        width (int): Input width.

    Returns:
        dict: ``flops`` and ``params`` map ``'total'`` and each part title
        to a count; a part the model lacks counts 0.
    """
    model.eval()
    inputs = torch.randn(1, 3, height, width)
    with torch.no_grad():
        analyzer = FlopAnalyzer(model, (inputs, ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        flops_by_module = analyzer.by_module()
    params_by_prefix = parameter_count(model)
    result = {
        'flops': {
            'total': analyzer.total()
        },
        'params': {
            'total': params_by_prefix['']
        }
    }
    for title, prefix in PARTS:
        result['flops'][title] = flops_by_module.get(prefix, 0)
        result['params'][title] = params_by_prefix.get(prefix, 0)
    return result
