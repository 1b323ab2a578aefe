"""The last stage of MMPretrain's ConvNeXt, Swin Transformer and Vision
Transformer as a SHIKE expert stage for :class:`DKFNeck`.

The trunk is the same backbone built without its last stage (an ``arch``
dict listing only the shared stages or layers). Each stage below rebuilds
that last stage from MMPretrain's own blocks. It takes the trunk's deepest
output map ``[B, in_channels, H, W]`` and returns the expert's map
``[B, out_channels, H', W']``, which DKFNeck fuses and pools.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn.bricks.transformer import PatchMerging
from mmengine.model import BaseModule, Sequential
from mmpretrain.models.backbones.convnext import ConvNeXtBlock
from mmpretrain.models.backbones.swin_transformer import SwinBlockSequence
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from mmpretrain.models.utils import build_norm_layer
from mmpretrain.registry import MODELS

# Truncated-normal linear layers and unit LayerNorms, the initialisation
# MMPretrain's ConvNeXt, Swin and DeiT recipes use.
TRANSFORMER_INIT = [
    dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=.02, bias=0.),
    dict(type='Constant', layer=['LayerNorm'], val=1., bias=0.),
]


def per_block_rates(rate: Union[float, Sequence[float]],
                    depth: int) -> List[float]:
    """Stochastic-depth rate of each of ``depth`` blocks."""
    if isinstance(rate, (int, float)):
        return [float(rate)] * depth
    rates = [float(r) for r in rate]
    if len(rates) != depth:
        raise ValueError(f'Expected {depth} drop-path rates, got {len(rates)}')
    return rates


def map_to_tokens(x: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` -> ``[B, H * W, C]``."""
    return x.flatten(2).transpose(1, 2)


def tokens_to_map(tokens: torch.Tensor,
                  hw_shape: Sequence[int]) -> torch.Tensor:
    """``[B, H * W, C]`` -> ``[B, C, H, W]``."""
    batch_size, _, channels = tokens.shape
    return tokens.transpose(1, 2).reshape(batch_size, channels, *hw_shape)


@MODELS.register_module()
class ConvNeXtExpertStage(BaseModule):
    """The last ConvNeXt stage: ``conv2x2 stride 2 -> ConvNeXt blocks ->
    LN2d``.

    In ConvNeXt the stage opens with ``LN2d -> conv2x2``. Here that LN2d is
    the trunk's output norm of its last stage (``out_indices`` of a ConvNeXt
    with ``gap_before_final_norm=False``), so trunk plus expert compute the
    same graph as one ConvNeXt, with the LN shared by the experts. The final
    LN2d is applied to the map, before fusion and pooling.

    Args:
        in_channels (int): Channels of the trunk's last map.
        out_channels (int): Channels of the stage.
        depth (int): Number of ConvNeXt blocks.
        drop_path_rate (float | Sequence[float]): Stochastic depth of every
            block, or one rate per block. Defaults to 0.
        layer_scale_init_value (float): Initial layer scale. Defaults to
            1e-6.
        norm_cfg (dict): Norm layers. Defaults to
            ``dict(type='LN2d', eps=1e-6)``.
        init_cfg (dict | list[dict]): Defaults to truncated-normal convs and
            linear layers (std 0.02) and unit LayerNorms.

    Inputs:
        x (Tensor): ``[B, in_channels, H, W]``.

    Returns:
        Tensor: ``[B, out_channels, H // 2, W // 2]``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 depth: int,
                 drop_path_rate: Union[float, Sequence[float]] = 0.,
                 layer_scale_init_value: float = 1e-6,
                 norm_cfg: dict = dict(type='LN2d', eps=1e-6),
                 init_cfg=TRANSFORMER_INIT):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.downsample = nn.Conv2d(
            in_channels, out_channels, kernel_size=2, stride=2)
        self.blocks = Sequential(*[
            ConvNeXtBlock(
                in_channels=out_channels,
                norm_cfg=norm_cfg,
                drop_path_rate=rate,
                layer_scale_init_value=layer_scale_init_value)
            for rate in per_block_rates(drop_path_rate, depth)
        ])
        self.norm = build_norm_layer(norm_cfg, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.blocks(self.downsample(x)))


@MODELS.register_module()
class SwinExpertStage(BaseModule):
    """The last Swin stage: ``patch merging -> Swin blocks -> LN``.

    In Swin the patch merging closes the previous stage. A trunk built with
    three stages has none after its last one and, with ``norm_cfg=None``,
    returns raw maps, so trunk plus expert compute the same graph as one
    Swin Transformer.

    Args:
        in_channels (int): Channels of the trunk's last map.
        out_channels (int): Channels of the stage (usually twice
            ``in_channels``).
        depth (int): Number of Swin blocks.
        num_heads (int): Attention heads.
        window_size (int): Attention window. Defaults to 7.
        drop_path_rate (float | Sequence[float]): Stochastic depth of every
            block, or one rate per block. Defaults to 0.
        pad_small_map (bool): Pad maps smaller than the window instead of
            shrinking the window. Defaults to False.
        init_cfg (dict | list[dict]): Defaults to truncated-normal linear
            layers (std 0.02) and unit LayerNorms.

    Inputs:
        x (Tensor): ``[B, in_channels, H, W]``.

    Returns:
        Tensor: ``[B, out_channels, ceil(H / 2), ceil(W / 2)]``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 depth: int,
                 num_heads: int,
                 window_size: int = 7,
                 drop_path_rate: Union[float, Sequence[float]] = 0.,
                 pad_small_map: bool = False,
                 init_cfg=TRANSFORMER_INIT):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.downsample = PatchMerging(
            in_channels=in_channels,
            out_channels=out_channels,
            norm_cfg=dict(type='LN'))
        self.blocks = SwinBlockSequence(
            embed_dims=out_channels,
            depth=depth,
            num_heads=num_heads,
            window_size=window_size,
            downsample=False,
            drop_paths=per_block_rates(drop_path_rate, depth),
            pad_small_map=pad_small_map)
        self.norm = nn.LayerNorm(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens, hw_shape = self.downsample(map_to_tokens(x), x.shape[2:])
        tokens, hw_shape = self.blocks(tokens, hw_shape)
        return tokens_to_map(self.norm(tokens), hw_shape)


@MODELS.register_module()
class ViTExpertStage(BaseModule):
    """The last Vision Transformer layers: ``encoder layers -> LN``, on the
    patch tokens.

    The trunk is a ViT with the first layers only, ``with_cls_token=False``,
    ``out_type='featmap'`` and ``final_norm=False``. All maps of a ViT have
    the same resolution, so DKF's down-sampling fusion does not apply: use
    it with ``DKFNeck(fuse=False)`` (experts only). The expert feature is
    the mean of its normalised patch tokens.

    Args:
        in_channels (int): Embedding size of the trunk.
        num_layers (int): Number of encoder layers owned by each expert.
        num_heads (int): Attention heads.
        feedforward_channels (int): Hidden size of the FFNs.
        drop_path_rate (float | Sequence[float]): Stochastic depth of every
            layer, or one rate per layer. Defaults to 0.
        qkv_bias (bool): Bias in the qkv projection. Defaults to True.
        layer_scale_init_value (float): Initial layer scale; 0 disables it.
            Defaults to 0.
        norm_cfg (dict): Norm layers. Defaults to
            ``dict(type='LN', eps=1e-6)``.
        init_cfg (dict | list[dict], optional): Defaults to truncated-normal
            linear layers (std 0.02) and unit LayerNorms; the encoder layers
            then apply their own FFN initialisation.

    Inputs:
        x (Tensor): ``[B, in_channels, H, W]`` patch map.

    Returns:
        Tensor: ``[B, in_channels, H, W]``.
    """

    def __init__(self,
                 in_channels: int,
                 num_layers: int,
                 num_heads: int,
                 feedforward_channels: int,
                 drop_path_rate: Union[float, Sequence[float]] = 0.,
                 qkv_bias: bool = True,
                 layer_scale_init_value: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[list] = TRANSFORMER_INIT):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = in_channels
        self.layers = Sequential(*[
            TransformerEncoderLayer(
                embed_dims=in_channels,
                num_heads=num_heads,
                feedforward_channels=feedforward_channels,
                drop_path_rate=rate,
                qkv_bias=qkv_bias,
                layer_scale_init_value=layer_scale_init_value,
                norm_cfg=norm_cfg)
            for rate in per_block_rates(drop_path_rate, num_layers)
        ])
        self.norm = build_norm_layer(norm_cfg, in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.norm(self.layers(map_to_tokens(x)))
        return tokens_to_map(tokens, x.shape[2:])
