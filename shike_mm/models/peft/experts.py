"""What SHIKE's experts on a frozen Vision Transformer share, whatever
parameter-efficient method adapts them: the checks, the experts' streams
stacked along the batch, the depth-wise fusion and the output."""
from numbers import Integral
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmpretrain.models.backbones.vision_transformer import VisionTransformer

from .token_dkf import TokenDKF

FUSION_KEYS = ('shallow_depths', 'bottleneck_dims', 'scale')


def spread_depths(trunk_depth: int, num_experts: int) -> Tuple[int, ...]:
    """``S = min(M, L - k)`` depths spread evenly over a trunk of ``L - k``
    blocks, ending at its output (the experts' input), as SHIKE's shallow
    sources are the shared stages' outputs, the last one included:
    ``round(j * (L - k) / S)`` for ``j = 1 .. S``; e.g. ``(3, 7, 10)`` for
    3 experts on the 10-block trunk of ViT-B with ``k = 2``."""
    count = min(num_experts, trunk_depth)
    return tuple(
        int(j * trunk_depth / count + 0.5) for j in range(1, count + 1))


def vision_transformer(module: nn.Module) -> nn.Module:
    """The transformer inside PEFT wrappers (PretrainedBase, ...)."""
    while not isinstance(module, VisionTransformer) and isinstance(
            getattr(module, 'module', None), nn.Module):
        module = module.module
    return module


def split_streams(x: torch.Tensor, num_experts: int) -> Tuple[torch.Tensor]:
    """The ``M`` experts' rows of ``[M * B, ...]`` stacked streams."""
    if x.size(0) % num_experts:
        raise ValueError(f'{x.size(0)} rows do not split into the streams '
                         f'of {num_experts} experts')
    return x.chunk(num_experts)


class FanOut(nn.Module):
    """Run ``layer`` on ``M`` copies of its input stacked along the batch:
    the first block of the experts, whose streams start as copies of the
    shared trunk's tokens.

    Args:
        layer (nn.Module): The block.
        num_experts (int): ``M``.

    Inputs:
        x (Tensor): ``[B, N, D]``.

    Returns:
        Tensor: ``[M * B, N, D]``.
    """

    def __init__(self, layer: nn.Module, num_experts: int):
        super().__init__()
        self.layer = layer
        self.num_experts = num_experts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.num_experts > 1:
            x = x.repeat(self.num_experts, 1, 1)
        return self.layer(x)


def _is_count(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


class ExpertsMixin:
    """SHIKE's experts on the last ``k`` blocks of a frozen
    ``VisionTransformer``, for a PEFT wrapper that adapts each expert's
    blocks with its own parameters.

    The experts' residual streams travel stacked along the batch (rows
    ``m * B .. (m + 1) * B - 1`` are expert ``m``'s): the frozen blocks
    compute all of them in one call, the same per-sample result as ``M``
    calls, and each expert's parameters act on its own rows. The
    transformer's own forward runs unchanged; its outputs are set to the
    fusion's shallow class tokens and the final class tokens.
    """

    def _check_experts(self, vit: nn.Module, num_experts: int,
                       expert_layers: int) -> int:
        """Check the transformer and the expert settings; returns the index
        ``L - k`` of the experts' first block."""
        name = type(self).__name__
        num_layers = len(vit.layers)
        if type(vit).forward is not VisionTransformer.forward:
            raise TypeError(
                f'{name} runs the experts through MMPretrain\'s '
                f'VisionTransformer.forward, got {type(vit).__name__}')
        if vit.out_type != 'cls_token':
            raise ValueError(
                f'{name}: each expert ends in its class token; set the '
                f'module\'s out_type=\'cls_token\' (got {vit.out_type!r})')
        if list(vit.out_indices) != [num_layers - 1]:
            raise ValueError(
                f'{name} sets the module\'s outputs itself (the fusion\'s '
                'shallow tokens and the experts\' class tokens); leave '
                f'out_indices at its default -1 (got {vit.out_indices})')
        if not _is_count(num_experts) or num_experts < 1:
            raise ValueError(f'{name}.num_experts must be an integer >= 1, '
                             f'got {num_experts!r}')
        if not _is_count(expert_layers) or \
                not 1 <= expert_layers <= num_layers:
            raise ValueError(
                f'{name}.expert_layers={expert_layers!r}: the experts own '
                f'the last k blocks, 1 <= k <= {num_layers}')
        self.num_experts = num_experts
        self.expert_layers = expert_layers
        return num_layers - expert_layers

    def _finish_experts(self, vit: nn.Module, fusion: Optional[dict],
                        width: int, scale: Union[float, str]) -> None:
        """Build the fusion (gates of ``width`` and ``scale`` unless
        ``fusion`` says otherwise) and set the transformer's outputs."""
        num_layers = len(vit.layers)
        first_expert_layer = num_layers - self.expert_layers
        self.fusion = self._build_fusion(fusion, vit.embed_dims,
                                         first_expert_layer, width, scale)
        shallow_depths = () if self.fusion is None else \
            self.fusion.shallow_depths
        vit.out_indices = [depth - 1
                           for depth in shallow_depths] + [num_layers - 1]
        fused = 'without fusion' if self.fusion is None else (
            'fused with the trunk\'s class tokens at depths ' +
            str([self.fusion.source_of(m) for m in range(self.num_experts)]))
        print_log(
            f'{self.num_experts} experts own the {self.peft_name} of blocks '
            f'{list(range(first_expert_layer, num_layers))}, {fused}',
            logger='current')

    def _build_fusion(self, fusion: Optional[dict], embed_dims: int,
                      first_expert_layer: int, width: int,
                      scale) -> Optional[TokenDKF]:
        if fusion is None:
            return None
        name = type(self).__name__
        unknown = set(fusion) - set(FUSION_KEYS)
        if unknown:
            raise ValueError(
                f'{name}.fusion={fusion}: it takes '
                f'{", ".join(FUSION_KEYS)}; unknown keys: {sorted(unknown)}')
        depths = fusion.get('shallow_depths')
        if depths is None:
            depths = spread_depths(first_expert_layer, self.num_experts)
        depths = tuple(depths)
        if not depths or any(
                not _is_count(d) or not 1 <= d <= first_expert_layer
                for d in depths) or list(depths) != sorted(set(depths)):
            raise ValueError(
                f'{name}.fusion.shallow_depths={depths}: give increasing '
                'depths of the shared trunk, each 1 <= d <= '
                f'{first_expert_layer} (the blocks before the experts\' '
                'last expert_layers)')
        gate_width = fusion.get('bottleneck_dims')
        gate_scale = fusion.get('scale')
        return TokenDKF(
            embed_dims,
            self.num_experts,
            depths,
            bottleneck_dims=width if gate_width is None else gate_width,
            scale=scale if gate_scale is None else gate_scale)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """The ``M`` experts' features ``[B, D]``."""
        *shallow, experts = self.module(x)
        deep = split_streams(experts, self.num_experts)
        if self.fusion is None:
            return deep
        return self.fusion(shallow, deep)
