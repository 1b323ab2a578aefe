"""Depth-wise Knowledge Fusion (DKF): expert-exclusive deep stages fused
with shallow features of the shared trunk."""
import copy
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule, ModuleList
from mmpretrain.models.backbones.resnet import (BasicBlock, Bottleneck,
                                                ResLayer)
from mmpretrain.registry import MODELS

from ..utils import KAIMING_FAN_IN

RESIDUAL_BLOCKS = {'BasicBlock': BasicBlock, 'Bottleneck': Bottleneck}


def build_aligner(channels: Sequence[int], norm_cfg: dict) -> nn.Sequential:
    """Stride-2 ``conv3x3 -> norm [-> ReLU]`` blocks from ``channels[0]`` to
    ``channels[-1]``, one per step of ``channels``.

    As in the SHIKE code, the ReLU follows every conv except the one with
    index 1, so a two-conv aligner ends without ReLU and a one-conv aligner
    ends with it. The layers keep PyTorch's default initialisation.
    """
    convs = []
    for k, (in_ch, out_ch) in enumerate(zip(channels[:-1], channels[1:])):
        norm_name, norm = build_norm_layer(norm_cfg, out_ch)
        layers = [('conv',
                   nn.Conv2d(
                       in_ch, out_ch, 3, stride=2, padding=1, bias=False)),
                  (norm_name, norm)]
        if k != 1:
            layers.append(('relu', nn.ReLU(inplace=True)))
        convs.append(nn.Sequential(OrderedDict(layers)))
    return nn.Sequential(*convs)


@MODELS.register_module()
class DKFNeck(BaseModule):
    """Expert-exclusive deep stages with depth-wise knowledge fusion (SHIKE).

    The shared trunk gives ``S`` shallow maps (the backbone's output tuple,
    shallowest first). Every expert ``m`` runs its own copy of the last
    stage on the deepest shared map, giving ``deep_m`` of shape
    ``[B, C_out, H, W]``. Its shallow source map goes through an aligner of
    stride-2 ``conv3x3 -> BN [-> ReLU]`` blocks, one per remaining shared
    stage plus one for the expert stage, whose channels follow the actual
    stage channels (``in_channels[s:] + [C_out]``). The two are fused by
    Hadamard product and global-average-pooled::

        feat_m = GAP(deep_m * aligner_m(inputs[source_m]))  # [B, C_out]

    For ResNet-32 (``in_channels=(16, 32)``) expert 0 takes layer1 through
    two convs (16->32->64), expert 1 takes layer2 through one (32->64) and
    expert 2 takes layer1 again, as in the SHIKE code.

    Args:
        in_channels (Sequence[int]): Channels of the shallow maps, in the
            order of the backbone outputs. Defaults to ``(16, 32)``.
        num_experts (int): Number of experts M. Defaults to 3.
        expert_stage (dict): Arguments of mmpretrain's ``ResLayer`` for one
            expert stage; ``block`` is ``'BasicBlock'`` or ``'Bottleneck'``
            and ``in_channels`` defaults to ``in_channels[-1]``.
            Defaults to the ResNet-32 stage 3:
            ``dict(block='BasicBlock', num_blocks=5, in_channels=32,
            out_channels=64, stride=2)``.
        shallow_sources (Sequence[int], optional): Index of the shallow map
            fused into each expert, one per expert. Defaults to
            ``m % len(in_channels)`` for expert ``m``.
        fuse (bool): Fuse the shallow maps. ``False`` gives the plain
            multi-expert model ("MoE without DKF") with no aligners.
            Defaults to True.
        norm_cfg (dict): Norm layers of the aligners and, unless
            ``expert_stage`` sets its own, of the expert stages.
            Defaults to ``dict(type='BN')``.
        expert_init_cfg (dict | list[dict]): Initialisation of the expert
            stages. Defaults to kaiming-normal (fan_in) for every conv, as
            the SHIKE code; the aligners keep PyTorch's default.
        init_cfg (dict, optional): Initialisation of the whole neck.
            Defaults to None.

    Inputs:
        inputs (tuple[Tensor]): ``len(in_channels)`` maps, map ``s`` of shape
            ``[B, in_channels[s], H_s, W_s]``.

    Returns:
        tuple[Tensor]: ``num_experts`` fused features, each ``[B, C_out]``.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (16, 32),
                 num_experts: int = 3,
                 expert_stage: dict = dict(
                     block='BasicBlock',
                     num_blocks=5,
                     in_channels=32,
                     out_channels=64,
                     stride=2),
                 shallow_sources: Optional[Sequence[int]] = None,
                 fuse: bool = True,
                 norm_cfg: dict = dict(type='BN'),
                 expert_init_cfg=KAIMING_FAN_IN,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_experts < 1:
            raise ValueError(f'num_experts must be >= 1, got {num_experts}')
        self.in_channels = tuple(in_channels)
        self.num_experts = num_experts
        self.fuse = fuse

        stage_cfg = copy.deepcopy(expert_stage)
        block = stage_cfg.pop('block', 'BasicBlock')
        if isinstance(block, str):
            if block not in RESIDUAL_BLOCKS:
                raise ValueError(f'Unknown block {block!r}; use one of '
                                 f'{sorted(RESIDUAL_BLOCKS)}')
            block = RESIDUAL_BLOCKS[block]
        stage_cfg.setdefault('in_channels', self.in_channels[-1])
        stage_cfg.setdefault('norm_cfg', norm_cfg)
        if stage_cfg['in_channels'] != self.in_channels[-1]:
            raise ValueError(
                f"expert_stage in_channels={stage_cfg['in_channels']} must "
                f'equal the channels of the deepest shallow map '
                f'({self.in_channels[-1]})')
        self.out_channels = stage_cfg['out_channels']
        self.expert_stages = ModuleList(
            [ResLayer(block=block, **stage_cfg) for _ in range(num_experts)],
            init_cfg=expert_init_cfg)

        if shallow_sources is None:
            shallow_sources = [
                m % len(self.in_channels) for m in range(num_experts)
            ]
        self.shallow_sources = tuple(shallow_sources)
        if len(self.shallow_sources) != num_experts or not all(
                0 <= s < len(self.in_channels)
                for s in self.shallow_sources):
            raise ValueError(
                f'shallow_sources must give one index in '
                f'[0, {len(self.in_channels)}) per expert ({num_experts}), '
                f'got {shallow_sources}')

        self.aligners = None
        if fuse:
            self.aligners = nn.ModuleList([
                build_aligner(self.in_channels[s:] + (self.out_channels, ),
                              norm_cfg) for s in self.shallow_sources
            ])

    def forward(self,
                inputs: Tuple[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """Fuse and pool; see the class docstring for shapes."""
        if len(inputs) != len(self.in_channels):
            raise ValueError(
                f'DKFNeck expects {len(self.in_channels)} shallow maps (the '
                f'backbone out_indices), got {len(inputs)}')
        feats = []
        for m, stage in enumerate(self.expert_stages):
            deep = stage(inputs[-1])
            if self.fuse:
                aligned = self.aligners[m](inputs[self.shallow_sources[m]])
                if aligned.shape != deep.shape:
                    raise ValueError(
                        f'Expert {m}: aligned shallow map of shape '
                        f'{tuple(aligned.shape)} does not match its deep map '
                        f'{tuple(deep.shape)}')
                deep = deep * aligned
            feats.append(deep.mean(dim=(2, 3)))
        return tuple(feats)
