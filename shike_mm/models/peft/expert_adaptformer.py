"""SHIKE's experts as AdaptFormer sets on one frozen transformer: a shared
trunk with LIFT's adapters, and experts that own the adapters of the last
blocks."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

from .adaptformer import (LEARNABLE, AdaptFormer, AdaptFormerLayer,
                          AdaptFormerModel, adapted_block, check_adaptable)
from .experts import ExpertsMixin, FanOut, split_streams, vision_transformer


class ExpertAdaptFormerLayer(nn.Module):
    """One frozen block run on the residual streams of ``M`` experts, each
    with its own AdaptFormer branch.

    The experts' streams travel stacked along the batch: rows
    ``m * B .. (m + 1) * B - 1`` of the input are expert ``m``'s. The
    frozen block computes all of them in one call (the same per-sample
    result as ``M`` calls), and expert ``m``'s branch is added to its rows
    only: ``h_m + MLP(LN2(h_m)) + A_m(h_m)``.

    Args:
        layer (nn.Module): A block of MMPretrain's
            ``TransformerEncoderLayer`` kind, used, not copied.
        adapters (Sequence[nn.Module]): The ``M`` experts' branches.

    Inputs:
        x (Tensor): ``[M * B, N, D]``.

    Returns:
        Tensor: ``[M * B, N, D]``.
    """

    def __init__(self, layer: nn.Module, adapters: Sequence[nn.Module]):
        super().__init__()
        check_adaptable(layer)
        if not adapters:
            raise ValueError('ExpertAdaptFormerLayer needs one adapter per '
                             'expert, got none')
        self.layer = layer
        self.adapters = nn.ModuleList(adapters)

    @property
    def num_experts(self) -> int:
        return len(self.adapters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return adapted_block(self.layer, x, self._expert_branches)

    def _expert_branches(self, h: torch.Tensor) -> torch.Tensor:
        if self.num_experts == 1:
            return self.adapters[0](h)
        return torch.cat([
            adapter(stream) for adapter, stream in zip(
                self.adapters, split_streams(h, self.num_experts))
        ])

    def extra_repr(self) -> str:
        return f'num_experts={self.num_experts}'


@MODELS.register_module()
class ExpertAdaptFormerModel(ExpertsMixin, AdaptFormerModel):
    """SHIKE's experts on a frozen Vision Transformer, as AdaptFormer sets.

    The frozen weights are shared, never copied. The first ``L - k``
    blocks carry one set of AdaptFormer branches, as in LIFT
    (:class:`AdaptFormerModel`); each of the ``M`` experts owns its own
    branches in the last ``k`` blocks and runs those blocks on its own
    residual stream (:class:`ExpertAdaptFormerLayer`; the first of them is
    wrapped in a :class:`FanOut` that starts the streams), ending in its
    own class token after the (frozen, shared) final LayerNorm. With
    ``M = 1`` the model is :class:`AdaptFormerModel` with the same blocks
    adapted, and it draws its initial weights in the same order, so one
    seed gives both the same model.

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

    peft_name = 'AdaptFormer branches'

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
        vit = vision_transformer(self.module)
        first_expert_layer = self._check_experts(vit, num_experts,
                                                 expert_layers)
        unadapted = [
            index for index in range(first_expert_layer, self.num_layers)
            if index not in self.layer_indices
        ]
        if unadapted:
            raise ValueError(
                f'ExpertAdaptFormerModel: the expert blocks {unadapted} '
                f'(the last expert_layers={expert_layers}) have no adapters '
                f'in layer_indices={layer_indices!r}, so the experts would '
                'not differ there; include them')
        layers = vit.layers
        for index in range(first_expert_layer, self.num_layers):
            shared = layers[index]
            assert isinstance(shared, AdaptFormerLayer)
            # Expert 0 keeps the adapter built for this block, so that one
            # expert is exactly AdaptFormerModel.
            adapters = [shared.adapter] + [
                AdaptFormer(shared.layer.embed_dims, self.bottleneck_dims,
                            scale) for _ in range(num_experts - 1)
            ]
            layers[index] = ExpertAdaptFormerLayer(shared.layer, adapters)
        layers[first_expert_layer] = FanOut(layers[first_expert_layer],
                                            num_experts)
        self._finish_experts(vit, fusion, self.bottleneck_dims, scale)
