"""AdaptFormer (Chen et al., NeurIPS 2022) in the blocks of MMPretrain's
transformers, as LIFT (Shi et al., ICML 2024) fine-tunes CLIP."""
import math
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from mmpretrain.registry import MODELS

from .pretrained_base import PretrainedBase
from .wrapped_module import WrappedModule

LEARNABLE = 'learnable'


def lift_bottleneck_dims(num_classes: int, num_layers: int) -> int:
    """LIFT's adapter width ``2 ** max(0, floor(log2(C / (2 L))))``.

    Args:
        num_classes (int): Number of classes ``C``.
        num_layers (int): Number of transformer blocks ``L`` of the whole
            model (adapted or not).

    Returns:
        int: The width ``r``: 4 for CIFAR-100, 8 for Places-LT, 32 for
        ImageNet-LT and 256 for iNaturalist 2018 with 12 blocks.
    """
    if num_classes < 1 or num_layers < 1:
        raise ValueError('lift_bottleneck_dims needs positive num_classes '
                         f'and num_layers, got {num_classes}, {num_layers}')
    return 2**max(0, math.floor(math.log2(num_classes / (2 * num_layers))))


class AdaptFormer(nn.Module):
    """The AdaptFormer branch ``A(h) = s * up(ReLU(down(LN(h))))``.

    Initialised as LIFT does: ``down.weight`` Kaiming normal with
    ``a = sqrt(5)``, ``up.weight`` and both biases zero, so the branch
    starts at zero and the adapted model equals the base model.

    Args:
        embed_dims (int): Width ``D`` of the residual stream.
        bottleneck_dims (int): Width ``r`` of the bottleneck.
        scale (float | str): ``'learnable'`` for a trained scalar ``s``
            that starts at 1 (LIFT), or a fixed number. Defaults to
            ``'learnable'``.

    Inputs:
        h (Tensor): ``[..., D]``, the residual stream after the attention
            sub-block.

    Returns:
        Tensor: ``[..., D]``.
    """

    def __init__(self,
                 embed_dims: int,
                 bottleneck_dims: int,
                 scale: Union[float, str] = LEARNABLE):
        super().__init__()
        if bottleneck_dims < 1:
            raise ValueError('AdaptFormer.bottleneck_dims must be positive, '
                             f'got {bottleneck_dims}')
        self.ln = nn.LayerNorm(embed_dims)
        self.down = nn.Linear(embed_dims, bottleneck_dims)
        self.up = nn.Linear(bottleneck_dims, embed_dims)
        if scale == LEARNABLE:
            self.scale = nn.Parameter(torch.ones(1))
        elif isinstance(scale, (int, float)) and not isinstance(scale, bool):
            self.scale = float(scale)
        else:
            raise ValueError(f'AdaptFormer.scale must be {LEARNABLE!r} or a '
                             f'number, got {scale!r}')
        nn.init.kaiming_normal_(self.down.weight, a=math.sqrt(5))
        nn.init.zeros_(self.down.bias)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.scale * self.up(F.relu(self.down(self.ln(h))))

    def extra_repr(self) -> str:
        if isinstance(self.scale, float):
            return f'scale={self.scale} (fixed)'
        return 'scale=learnable'


class AdaptFormerLayer(nn.Module):
    """A transformer block with an AdaptFormer branch beside its MLP.

    With ``h = x + Attn(LN1(x))``, the block returns
    ``h + MLP(LN2(h)) + A(h)``. The block is used, not copied: several
    ``AdaptFormerLayer`` may share one frozen block, each with its own
    adapter (as experts on a shared base do).

    Args:
        layer (nn.Module): A block of MMPretrain's
            :class:`~mmpretrain.models.backbones.vision_transformer.\
TransformerEncoderLayer` kind (``ln1``, ``attn``, ``ln2`` and an ``ffn``
            that adds its ``identity``), as in ``VisionTransformer`` and
            DeiT.
        adapter (nn.Module): The branch ``A``, e.g. :class:`AdaptFormer`.

    Inputs:
        x (Tensor): ``[B, N, D]`` tokens.

    Returns:
        Tensor: ``[B, N, D]``.
    """

    def __init__(self, layer: nn.Module, adapter: nn.Module):
        super().__init__()
        check_adaptable(layer)
        self.layer = layer
        self.adapter = adapter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return adapted_block(self.layer, x, self.adapter)


def adapted_block(layer: nn.Module, x: torch.Tensor, branch) -> torch.Tensor:
    """``h + MLP(LN2(h)) + branch(h)`` with ``h = x + Attn(LN1(x))``: the
    forward of an MMPretrain ``TransformerEncoderLayer`` with a parallel
    branch beside its MLP."""
    h = x + layer.attn(layer.ln1(x))
    return layer.ffn(layer.ln2(h), identity=h) + branch(h)


def check_adaptable(layer: nn.Module) -> None:
    """Refuse a block whose forward is not MMPretrain's
    ``TransformerEncoderLayer.forward``: :class:`AdaptFormerLayer` recomputes
    that forward around the adapter."""
    if not isinstance(layer, nn.Module) or \
            type(layer).forward is not TransformerEncoderLayer.forward:
        raise TypeError(
            f'AdaptFormer adapts blocks that compute h = x + attn(ln1(x)), '
            f'then ffn(ln2(h), identity=h), as MMPretrain\'s '
            f'TransformerEncoderLayer (VisionTransformer, DeiT) does; got '
            f'{type(layer).__name__}')


def _unwrap(module: nn.Module) -> nn.Module:
    """The module inside PEFT wrappers (PretrainedBase, LoRAModel, ...)."""
    while not hasattr(module, 'layers') and hasattr(module, 'module'):
        module = module.module
    return module


@MODELS.register_module()
class AdaptFormerModel(WrappedModule):
    """Add AdaptFormer branches to the blocks of a transformer and freeze
    everything else, as MMPretrain's ``LoRAModel`` does for LoRA.

    The module is built (its weights initialised or, inside a
    :class:`PretrainedBase`, loaded) and every one of its parameters frozen
    when this wrapper is built; the adapters are the only parameters that
    train. ``bottleneck_dims=None`` uses LIFT's width
    :func:`lift_bottleneck_dims` of ``num_classes`` and the number of
    blocks.

    Args:
        module (dict): Config of the transformer, whose ``layers`` are
            :class:`AdaptFormerLayer`-compatible blocks, e.g.
            ``dict(type='PretrainedBase', module=dict(type=
            'VisionTransformer', ...), checkpoint=...)``.
        num_classes (int, optional): Number of classes, for LIFT's width.
            Defaults to None.
        bottleneck_dims (int, optional): Adapter width ``r``. Defaults to
            None (LIFT's formula; needs ``num_classes``).
        layer_indices (int | Sequence[int], optional): The blocks that get
            an adapter: None for all (LIFT), an int ``k`` for the last ``k``
            blocks, or a list of block indices (negative ones count from
            the end). Defaults to None.
        scale (float | str): ``'learnable'`` (LIFT) or a fixed scale.
            Defaults to ``'learnable'``.
        init_cfg (dict, optional): Initialisation config of the wrapper.
            Defaults to None.

    Inputs and outputs are the module's.
    """

    def __init__(self,
                 module: dict,
                 num_classes: Optional[int] = None,
                 bottleneck_dims: Optional[int] = None,
                 layer_indices: Union[None, int, Sequence[int]] = None,
                 scale: Union[float, str] = LEARNABLE,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        module = MODELS.build(module)
        if isinstance(module, PretrainedBase) and not module.frozen:
            raise ValueError(
                'AdaptFormerModel trains only its adapters, but its module '
                'is PretrainedBase(frozen=False), whose weights would then '
                'be saved in every checkpoint; set frozen=True (or train '
                'the plain PretrainedBase for full fine-tuning)')
        if not getattr(module, 'is_init', True):
            module.init_weights()
        self.module = module

        layers = getattr(_unwrap(module), 'layers', None)
        if not isinstance(layers, nn.ModuleList) or not len(layers):
            raise TypeError(
                f'AdaptFormerModel needs a module with a ModuleList of '
                f'blocks as `layers`, got {type(module).__name__}')
        self.num_layers = len(layers)
        self.layer_indices = self._resolve_indices(layer_indices,
                                                   self.num_layers)
        if bottleneck_dims is None:
            if num_classes is None:
                raise ValueError(
                    'AdaptFormerModel needs bottleneck_dims, or num_classes '
                    "for LIFT's width 2 ** floor(log2(C / (2 L)))")
            bottleneck_dims = lift_bottleneck_dims(num_classes,
                                                   self.num_layers)
        self.bottleneck_dims = bottleneck_dims

        for param in self.module.parameters():
            param.requires_grad_(False)
        for index in self.layer_indices:
            layer = layers[index]
            check_adaptable(layer)
            layers[index] = AdaptFormerLayer(
                layer, AdaptFormer(layer.embed_dims, bottleneck_dims, scale))
        print_log(
            f'AdaptFormer (width {bottleneck_dims}, scale {scale}) in '
            f'blocks {list(self.layer_indices)} of {self.num_layers}',
            logger='current')

    @staticmethod
    def _resolve_indices(layer_indices, num_layers: int) -> tuple:
        if layer_indices is None:
            return tuple(range(num_layers))
        if isinstance(layer_indices,
                      int) and not isinstance(layer_indices, bool):
            if not 1 <= layer_indices <= num_layers:
                raise ValueError(
                    f'AdaptFormerModel.layer_indices={layer_indices}: the '
                    f'last k blocks need 1 <= k <= {num_layers}')
            return tuple(range(num_layers - layer_indices, num_layers))
        indices = []
        for index in layer_indices:
            if not -num_layers <= index < num_layers:
                raise ValueError(
                    f'AdaptFormerModel.layer_indices: block {index} does '
                    f'not exist in a model of {num_layers} blocks')
            indices.append(index % num_layers)
        if not indices or len(set(indices)) != len(indices):
            raise ValueError('AdaptFormerModel.layer_indices must name '
                             f'distinct blocks, got {list(layer_indices)}')
        return tuple(sorted(indices))
