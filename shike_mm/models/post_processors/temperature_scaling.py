"""Temperature scaling of the logits."""
import torch
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class TemperatureScaling(nn.Module):
    """``s = f / T`` (Guo et al., ICML 2017): a temperature above 1 softens
    over-confident scores; the top-1 prediction never changes.

    Fit ``T`` on held-out data with
    ``tools/analysis_tools/calibrate.py``. Put it before any prior
    correction in a head's ``post_processors``: Bayes' rule needs
    calibrated posteriors.

    Args:
        temperature (float): ``T > 0``. Defaults to 1.0.

    Inputs:
        logits (Tensor): ``[B, C]``.

    Returns:
        Tensor: ``[B, C]`` scaled logits.
    """

    def __init__(self, temperature: float = 1.0) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError('TemperatureScaling.temperature must be > 0, '
                             f'got {temperature}')
        self.temperature = float(temperature)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return logits / self.temperature

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}'
