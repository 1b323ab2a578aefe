"""Depth-wise Knowledge Fusion (DKF): expert-exclusive deep stages fused
with shallow features of the shared trunk."""
import copy
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.logging import print_log
from mmengine.model import BaseModule, ModuleList
from mmengine.runner.checkpoint import CheckpointLoader
from mmpretrain.models.backbones.resnet import BasicBlock, Bottleneck, ResLayer
from mmpretrain.models.backbones.resnext import Bottleneck as ResNeXtBottleneck
from mmpretrain.registry import MODELS

from ..utils import KAIMING_FAN_IN

EXPERT_PRETRAINED_KEYS = ('checkpoint', 'prefix')
RESIDUAL_BLOCKS = {
    'BasicBlock': BasicBlock,
    'Bottleneck': Bottleneck,
    'ResNeXtBottleneck': ResNeXtBottleneck,
}


def build_aligner(channels: Sequence[int],
                  norm_cfg: dict,
                  kernel_size: int = 3) -> nn.Sequential:
    """Stride-2 ``conv(kernel_size) -> norm [-> ReLU]`` blocks from
    ``channels[0]`` to ``channels[-1]``, one per step of ``channels``.

    As in the SHIKE code, the ReLU follows every conv except the one with
    index 1, so a two-conv aligner ends without ReLU and a one-conv aligner
    ends with it. Padding is ``kernel_size // 2``, so 3x3 and 1x1 kernels
    give the same output size. The layers keep PyTorch's default
    initialisation.
    """
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(
            f'aligner kernel_size must be odd and >= 1, got {kernel_size}')
    convs = []
    for k, (in_ch, out_ch) in enumerate(zip(channels[:-1], channels[1:])):
        norm_name, norm = build_norm_layer(norm_cfg, out_ch)
        layers = [('conv',
                   nn.Conv2d(
                       in_ch,
                       out_ch,
                       kernel_size,
                       stride=2,
                       padding=kernel_size // 2,
                       bias=False)), (norm_name, norm)]
        if k != 1:
            layers.append(('relu', nn.ReLU(inplace=True)))
        convs.append(nn.Sequential(OrderedDict(layers)))
    return nn.Sequential(*convs)


def build_expert_stage(stage_cfg: dict, default_in_channels: int,
                       norm_cfg: dict) -> nn.Module:
    """One expert stage: a registered module when ``stage_cfg`` has a
    ``type``, else mmpretrain's ``ResLayer`` built from ``stage_cfg``.

    The built stage exposes ``in_channels`` and ``out_channels``.
    """
    stage_cfg = copy.deepcopy(stage_cfg)
    stage_cfg.setdefault('in_channels', default_in_channels)
    if 'type' in stage_cfg:
        return MODELS.build(stage_cfg)
    block = stage_cfg.pop('block', 'BasicBlock')
    if isinstance(block, str):
        if block not in RESIDUAL_BLOCKS:
            raise ValueError(f'Unknown block {block!r}; use one of '
                             f'{sorted(RESIDUAL_BLOCKS)}')
        block = RESIDUAL_BLOCKS[block]
    stage_cfg.setdefault('norm_cfg', norm_cfg)
    stage = ResLayer(block=block, **stage_cfg)
    stage.in_channels = stage_cfg['in_channels']
    stage.out_channels = stage_cfg['out_channels']
    return stage


@MODELS.register_module()
class DKFNeck(BaseModule):
    """Expert-exclusive deep stages with depth-wise knowledge fusion (SHIKE).

    The shared trunk gives ``S`` shallow maps (the backbone's output tuple,
    shallowest first). Every expert ``m`` runs its own copy of the last
    stage on the deepest shared map, giving ``deep_m`` of shape
    ``[B, C_out, H, W]``. Its shallow source map goes through an aligner of
    stride-2 ``conv -> BN [-> ReLU]`` blocks, one per remaining shared
    stage plus one for the expert stage, whose channels follow the actual
    stage channels (``in_channels[s:] + [C_out]``). The two are fused by
    Hadamard product and global-average-pooled::

        feat_m = GAP(deep_m * aligner_m(inputs[source_m]))  # [B, C_out]

    For ResNet-32 (``in_channels=(16, 32)``) expert 0 takes layer1 through
    two convs (16->32->64), expert 1 takes layer2 through one (32->64) and
    expert 2 takes layer1 again, as in the SHIKE code. For a 4-stage
    ResNet-50 (``in_channels=(256, 512, 1024)``, experts own layer4) the
    aligners are 256->512->1024->2048, 512->1024->2048 and 1024->2048.

    DKF needs every stage after a source map to halve the resolution. For
    backbones where it does not (ViT), ``fuse=False`` is the experts-only
    mode: ``feat_m = GAP(deep_m)``.

    Args:
        in_channels (Sequence[int]): Channels of the shallow maps, in the
            order of the backbone outputs. Defaults to ``(16, 32)``.
        num_experts (int): Number of experts M. Defaults to 3.
        expert_stage (dict): One expert stage. Either the arguments of
            mmpretrain's ``ResLayer``, with ``block`` one of
            ``'BasicBlock'``, ``'Bottleneck'`` (ResNet) and
            ``'ResNeXtBottleneck'`` (ResNeXt, RegNet), or a config with a
            ``type`` (a registered expert stage such as
            ``ConvNeXtExpertStage``). ``in_channels`` defaults to
            ``in_channels[-1]``. Defaults to the ResNet-32 stage 3:
            ``dict(block='BasicBlock', num_blocks=5, in_channels=32,
            out_channels=64, stride=2)``.
        shallow_sources (Sequence[int], optional): Index of the shallow map
            fused into each expert, one per expert. Defaults to
            ``m % len(in_channels)`` for expert ``m``.
        fuse (bool): Fuse the shallow maps. ``False`` gives the plain
            multi-expert model ("MoE without DKF", or the experts-only mode
            of backbones without down-sampling stages) with no aligners.
            Defaults to True.
        aligner_kernel_size (int): Kernel size of the aligner convs, odd.
            Defaults to 3, as the SHIKE code. ``1`` is the cheaper setting:
            about 9 times fewer aligner parameters and FLOPs.
        aligner_width_ratio (float): Scales the output channels of every
            aligner conv but the last (which must give ``C_out``), so only
            aligners with two or more convs get cheaper. Defaults to 1.0.
        identity_fusion_init (bool): Initialise the norm layer of the last
            aligner block to weight 0 and bias 1, so that every aligned map
            starts as all ones and ``feat_m`` starts as ``GAP(deep_m)``.
            Useful when the experts start from pretrained weights. Defaults
            to False (PyTorch's default, as the SHIKE code).
        expert_pretrained (dict, optional): Copy one pretrained stage into
            every expert in :meth:`init_weights`: ``dict(checkpoint=...,
            prefix=...)``; the checkpoint keys that start with ``prefix``
            (e.g. ``'backbone.layer4.'`` in an MMPretrain checkpoint,
            ``'layer4.'`` in a torchvision one) must match an expert stage's
            keys exactly. Defaults to None.
        norm_cfg (dict): Norm layers of the aligners and, unless
            ``expert_stage`` sets its own, of ``ResLayer`` expert stages.
            Defaults to ``dict(type='BN')``.
        expert_init_cfg (dict | list[dict]): Initialisation of the expert
            stages. Defaults to kaiming-normal (fan_in) for every conv, as
            the SHIKE code; the aligners keep PyTorch's default. Registered
            expert stages apply their own ``init_cfg`` after it.
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
                 aligner_kernel_size: int = 3,
                 aligner_width_ratio: float = 1.0,
                 identity_fusion_init: bool = False,
                 expert_pretrained: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 expert_init_cfg=KAIMING_FAN_IN,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_experts < 1:
            raise ValueError(f'num_experts must be >= 1, got {num_experts}')
        if aligner_width_ratio <= 0:
            raise ValueError('aligner_width_ratio must be > 0, got '
                             f'{aligner_width_ratio}')
        if expert_pretrained is not None and not set(
                EXPERT_PRETRAINED_KEYS) <= set(expert_pretrained):
            raise ValueError('expert_pretrained needs a checkpoint and a '
                             f'prefix, got {expert_pretrained}')
        self.in_channels = tuple(in_channels)
        self.num_experts = num_experts
        self.fuse = fuse
        self.identity_fusion_init = identity_fusion_init
        self.expert_pretrained = expert_pretrained

        stages = [
            build_expert_stage(expert_stage, self.in_channels[-1], norm_cfg)
            for _ in range(num_experts)
        ]
        self.expert_stages = ModuleList(stages, init_cfg=expert_init_cfg)
        first_stage = self.expert_stages[0]
        if first_stage.in_channels != self.in_channels[-1]:
            raise ValueError(
                f'expert_stage in_channels={first_stage.in_channels} must '
                f'equal the channels of the deepest shallow map '
                f'({self.in_channels[-1]})')
        self.out_channels = first_stage.out_channels

        if shallow_sources is None:
            shallow_sources = [
                m % len(self.in_channels) for m in range(num_experts)
            ]
        self.shallow_sources = tuple(shallow_sources)
        if len(self.shallow_sources) != num_experts or not all(
                0 <= s < len(self.in_channels) for s in self.shallow_sources):
            raise ValueError(
                f'shallow_sources must give one index in '
                f'[0, {len(self.in_channels)}) per expert ({num_experts}), '
                f'got {shallow_sources}')

        self.aligners = None
        if fuse:
            self.aligners = nn.ModuleList([
                build_aligner(
                    self._aligner_channels(source, aligner_width_ratio),
                    norm_cfg, aligner_kernel_size)
                for source in self.shallow_sources
            ])

    def _aligner_channels(self, source: int,
                          width_ratio: float) -> Tuple[int, ...]:
        """Channels along the aligner of shallow map ``source``."""
        hidden = tuple(
            max(1, round(width_ratio * channels))
            for channels in self.in_channels[source + 1:])
        return (self.in_channels[source], ) + hidden + (self.out_channels, )

    def init_weights(self) -> None:
        """Initialise as configured, then apply ``identity_fusion_init`` and
        copy ``expert_pretrained`` into every expert."""
        super().init_weights()
        if self.fuse and self.identity_fusion_init:
            for aligner in self.aligners:
                last_norm = aligner[-1][1]
                nn.init.zeros_(last_norm.weight)
                nn.init.ones_(last_norm.bias)
        if self.expert_pretrained is not None:
            self._copy_pretrained_stage(**self.expert_pretrained)

    def _copy_pretrained_stage(self, checkpoint: str, prefix: str) -> None:
        loaded = CheckpointLoader.load_checkpoint(
            checkpoint, map_location='cpu')
        state_dict = loaded.get('state_dict', loaded)
        stage_state = {
            key[len(prefix):]: value
            for key, value in state_dict.items() if key.startswith(prefix)
        }
        if not stage_state:
            raise KeyError(f'expert_pretrained: no key of {checkpoint} '
                           f'starts with {prefix!r}')
        for stage in self.expert_stages:
            stage.load_state_dict(stage_state, strict=True)
        print_log(
            f'DKFNeck: copied {len(stage_state)} tensors under {prefix!r} of '
            f'{checkpoint} into each of the {self.num_experts} experts',
            logger='current')

    def forward(self, inputs: Tuple[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
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
                        f'{tuple(deep.shape)}; DKF needs every later stage '
                        'to halve the resolution, use fuse=False (experts '
                        'only) otherwise')
                deep = deep * aligned
            feats.append(deep.mean(dim=(2, 3)))
        return tuple(feats)
