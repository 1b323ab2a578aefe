"""SHIKE's experts as adapter sets on one frozen transformer: a shared
trunk with LIFT's AdaptFormer, and experts that own the adapters of the
last blocks."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmpretrain.models.backbones.vision_transformer import VisionTransformer
from mmpretrain.registry import MODELS

from .adaptformer import (LEARNABLE, AdaptFormer, AdaptFormerLayer,
                          AdaptFormerModel, adapted_block, check_adaptable)
from .token_dkf import TokenDKF

FUSION_KEYS = ('shallow_depths', 'bottleneck_dims', 'scale')


class ExpertAdaptFormerLayer(nn.Module):
    """One frozen block run on the residual streams of ``M`` experts, each
    with its own AdaptFormer branch.

    The experts' streams travel stacked along the batch: rows
    ``m * B .. (m + 1) * B - 1`` of the input are expert ``m``'s. The
    frozen block computes all of them in one call (the same per-sample
    result as ``M`` calls), and expert ``m``'s branch is added to its rows
    only: ``h_m + MLP(LN2(h_m)) + A_m(h_m)``. The block that starts the
    experts (``fan_out=True``) receives the shared trunk's ``[B, N, D]``
    tokens and gives each expert a copy.

    Args:
        layer (nn.Module): A block of MMPretrain's
            ``TransformerEncoderLayer`` kind, used, not copied.
        adapters (Sequence[nn.Module]): The ``M`` experts' branches.
        fan_out (bool): Copy the input into ``M`` streams first.

    Inputs:
        x (Tensor): ``[B, N, D]`` with ``fan_out``, else ``[M * B, N, D]``.

    Returns:
        Tensor: ``[M * B, N, D]``.
    """

    def __init__(self,
                 layer: nn.Module,
                 adapters: Sequence[nn.Module],
                 fan_out: bool = False):
        super().__init__()
        check_adaptable(layer)
        if not adapters:
            raise ValueError('ExpertAdaptFormerLayer needs one adapter per '
                             'expert, got none')
        self.layer = layer
        self.adapters = nn.ModuleList(adapters)
        self.fan_out = fan_out

    @property
    def num_experts(self) -> int:
        return len(self.adapters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fan_out and self.num_experts > 1:
            x = x.repeat(self.num_experts, 1, 1)
        return adapted_block(self.layer, x, self._expert_branches)

    def _expert_branches(self, h: torch.Tensor) -> torch.Tensor:
        if self.num_experts == 1:
            return self.adapters[0](h)
        if h.size(0) % self.num_experts:
            raise ValueError(
                f'ExpertAdaptFormerLayer: {h.size(0)} rows do not split into '
                f'the streams of {self.num_experts} experts')
        return torch.cat([
            adapter(stream) for adapter, stream in zip(
                self.adapters, h.chunk(self.num_experts))
        ])

    def extra_repr(self) -> str:
        return f'num_experts={self.num_experts}, fan_out={self.fan_out}'


def spread_depths(trunk_depth: int, num_experts: int) -> Tuple[int, ...]:
    """``S = min(M, L - k)`` depths spread evenly over a trunk of ``L - k``
    blocks, ending at its output (the experts' input), as SHIKE's shallow
    sources are the shared stages' outputs, the last one included:
    ``round(j * (L - k) / S)`` for ``j = 1 .. S``; e.g. ``(3, 7, 10)`` for
    3 experts on the 10-block trunk of ViT-B with ``k = 2``."""
    count = min(num_experts, trunk_depth)
    return tuple(
        int(j * trunk_depth / count + 0.5) for j in range(1, count + 1))


def _vision_transformer(module: nn.Module) -> nn.Module:
    """The transformer inside PEFT wrappers (PretrainedBase, ...)."""
    while not isinstance(module, VisionTransformer) and isinstance(
            getattr(module, 'module', None), nn.Module):
        module = module.module
    return module


@MODELS.register_module()
class ExpertAdaptFormerModel(AdaptFormerModel):
    """SHIKE's experts on a frozen Vision Transformer, as adapter sets.

    The frozen weights are shared, never copied. The first ``L - k``
    blocks carry one set of AdaptFormer branches, as in LIFT
    (:class:`AdaptFormerModel`); each of the ``M`` experts owns its own
    branches in the last ``k`` blocks and runs those blocks on its own
    residual stream (:class:`ExpertAdaptFormerLayer`), ending in its own
    class token after the (frozen, shared) final LayerNorm. With ``M = 1``
    the model is :class:`AdaptFormerModel` with the same blocks adapted,
    and it draws its initial weights in the same order, so one seed gives
    both the same model.

    With ``fusion`` the experts' class tokens go through SHIKE's
    depth-wise knowledge fusion for tokens (:class:`TokenDKF`): expert
    ``m`` is gated by the shared trunk's class token after block
    ``shallow_depths[m mod S]``.

    Args:
        module (dict): Config of the transformer, a ``VisionTransformer``
            with ``out_type='cls_token'`` and its default ``out_indices``
            (the model sets the outputs), usually inside a
            ``PretrainedBase``.
        num_experts (int): Number of experts ``M``. Defaults to 3.
        expert_layers (int): Number of last blocks ``k`` that every expert
            runs with its own adapters, ``1 <= k <= L``. Defaults to 2.
        fusion (dict, optional): Depth-wise knowledge fusion: a dict with
            ``shallow_depths``, the depths ``d`` (blocks run, increasing,
            ``1 <= d <= L - k``) of the trunk's class tokens (None: spread
            over the trunk, :func:`spread_depths`), and ``bottleneck_dims``
            and ``scale`` of the gates (None: the adapters'). None (the
            default) turns fusion off.
        num_classes (int, optional): Number of classes, for LIFT's adapter
            width. Defaults to None.
        bottleneck_dims (int, optional): Adapter width ``r`` of the trunk
            and the experts. Defaults to None (LIFT's formula).
        layer_indices (int | Sequence[int], optional): The blocks with
            adapters, as in :class:`AdaptFormerModel`; they must include
            the last ``k``. Defaults to None (all blocks, LIFT).
        scale (float | str): ``'learnable'`` (LIFT) or a fixed scale of
            every branch. Defaults to ``'learnable'``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Inputs:
        x (Tensor): ``[B, 3, H, W]`` images.

    Returns:
        tuple[Tensor]: The ``M`` experts' features ``[B, D]``: their final
        class tokens, fused with ``fusion``.
    """

    def __init__(self,
                 module: dict,
                 num_experts: int = 3,
                 expert_layers: int = 2,
                 fusion: Optional[dict] = None,
                 num_classes: Optional[int] = None,
                 bottleneck_dims: Optional[int] = None,
                 layer_indices: Union[None, int, Sequence[int]] = None,
                 scale: Union[float, str] = LEARNABLE,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            module=module,
            num_classes=num_classes,
            bottleneck_dims=bottleneck_dims,
            layer_indices=layer_indices,
            scale=scale,
            init_cfg=init_cfg)
        vit = _vision_transformer(self.module)
        num_layers = self.num_layers
        self._check_vit(vit, num_layers)
        if isinstance(
                num_experts,
                bool) or not isinstance(num_experts, int) or num_experts < 1:
            raise ValueError('ExpertAdaptFormerModel.num_experts must be an '
                             f'integer >= 1, got {num_experts!r}')
        if isinstance(expert_layers, bool) or not isinstance(
                expert_layers, int) or not 1 <= expert_layers <= num_layers:
            raise ValueError(
                f'ExpertAdaptFormerModel.expert_layers={expert_layers!r}: '
                f'the experts own the last k blocks, 1 <= k <= {num_layers}')
        first_expert_layer = num_layers - expert_layers
        unadapted = [
            index for index in range(first_expert_layer, num_layers)
            if index not in self.layer_indices
        ]
        if unadapted:
            raise ValueError(
                f'ExpertAdaptFormerModel: the expert blocks {unadapted} '
                f'(the last expert_layers={expert_layers}) have no adapters '
                f'in layer_indices={layer_indices!r}, so the experts would '
                'not differ there; include them')
        self.num_experts = num_experts
        self.expert_layers = expert_layers
        layers = vit.layers
        for index in range(first_expert_layer, num_layers):
            shared = layers[index]
            assert isinstance(shared, AdaptFormerLayer)
            adapter = shared.adapter
            # Expert 0 keeps the adapter built for this block, so that one
            # expert is exactly AdaptFormerModel.
            adapters = [adapter] + [
                AdaptFormer(shared.layer.embed_dims, self.bottleneck_dims,
                            scale) for _ in range(num_experts - 1)
            ]
            layers[index] = ExpertAdaptFormerLayer(
                shared.layer, adapters, fan_out=index == first_expert_layer)
        self.fusion = self._build_fusion(fusion, vit.embed_dims,
                                         first_expert_layer, scale)
        shallow_depths = () if self.fusion is None else \
            self.fusion.shallow_depths
        vit.out_indices = [depth - 1
                           for depth in shallow_depths] + [num_layers - 1]
        fused = 'without fusion' if self.fusion is None else (
            'fused with the trunk\'s class tokens at depths ' +
            str([self.fusion.source_of(m) for m in range(num_experts)]))
        print_log(
            f'{num_experts} experts own the adapters of blocks '
            f'{list(range(first_expert_layer, num_layers))}, {fused}',
            logger='current')

    @staticmethod
    def _check_vit(vit: nn.Module, num_layers: int) -> None:
        if type(vit).forward is not VisionTransformer.forward:
            raise TypeError('ExpertAdaptFormerModel runs the experts through '
                            'MMPretrain\'s VisionTransformer.forward, got '
                            f'{type(vit).__name__}')
        if vit.out_type != 'cls_token':
            raise ValueError(
                'ExpertAdaptFormerModel: each expert ends in its class '
                f'token; set the module\'s out_type=\'cls_token\' (got '
                f'{vit.out_type!r})')
        if list(vit.out_indices) != [num_layers - 1]:
            raise ValueError(
                'ExpertAdaptFormerModel sets the module\'s outputs itself '
                '(the fusion\'s shallow tokens and the experts\' class '
                'tokens); leave '
                f'out_indices at its default -1 (got {vit.out_indices})')

    def _build_fusion(self, fusion: Optional[dict], embed_dims: int,
                      first_expert_layer: int, scale) -> Optional[TokenDKF]:
        if fusion is None:
            return None
        unknown = set(fusion) - set(FUSION_KEYS)
        if unknown:
            raise ValueError(
                f'ExpertAdaptFormerModel.fusion={fusion}: it takes '
                f'{", ".join(FUSION_KEYS)}; unknown keys: {sorted(unknown)}')
        depths = fusion.get('shallow_depths')
        if depths is None:
            depths = spread_depths(first_expert_layer, self.num_experts)
        depths = tuple(depths)
        if not depths or any(
                isinstance(d, bool) or not isinstance(d, int)
                or not 1 <= d <= first_expert_layer
                for d in depths) or list(depths) != sorted(set(depths)):
            raise ValueError(
                f'ExpertAdaptFormerModel.fusion.shallow_depths={depths}: '
                'give increasing depths of the shared trunk, each 1 <= d <= '
                f'{first_expert_layer} (the blocks before the experts\' '
                'last expert_layers)')
        width = fusion.get('bottleneck_dims')
        gate_scale = fusion.get('scale')
        return TokenDKF(
            embed_dims,
            self.num_experts,
            depths,
            bottleneck_dims=self.bottleneck_dims if width is None else width,
            scale=scale if gate_scale is None else gate_scale)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        *shallow, experts = self.module(x)
        deep = experts.chunk(self.num_experts)
        if self.fusion is None:
            return deep
        return self.fusion(shallow, deep)
