"""The thin CIFAR ResNet of He et al. (ResNet-20/32/44/56/110)."""
from mmpretrain.models.backbones import ResNet_CIFAR
from mmpretrain.models.backbones.resnet import BasicBlock
from mmpretrain.registry import MODELS

from ..utils import KAIMING_FAN_IN


@MODELS.register_module()
class CIFARResNet(ResNet_CIFAR):
    """ResNet for 32x32 images with 16/32/64 channels (He et al., 2016).

    The stem is ``conv3x3(3->16, stride 1, padding 1, no bias) -> BN ->
    ReLU`` without max pooling. Each of the three stages has
    ``(depth - 2) / 6`` BasicBlocks; the first block of stages 2 and 3 has
    stride 2. Shortcuts that change shape are ``conv1x1 -> BN`` (option B).
    Convs are initialised with kaiming-normal (fan_in) and residual branches
    are not zero-initialised.

    With the defaults, a 3x32x32 input gives the outputs
    ``layer1: [B, 16, 32, 32]``, ``layer2: [B, 32, 16, 16]`` and
    ``layer3: [B, 64, 8, 8]`` for the stages listed in ``out_indices``.
    SHIKE shares only stem, layer1 and layer2 between its experts, so its
    configs use ``num_stages=2, out_indices=(0, 1)``.

    Args:
        depth (int): Network depth, one of 20, 32, 44, 56 and 110.
        stem_channels (int): Output channels of the stem. Defaults to 16.
        base_channels (int): Channels of the first stage; each later stage
            doubles them. Defaults to 16.
        num_stages (int): Number of stages built, 1 to 3. Defaults to 3.
        strides (Sequence[int]): Stride of the first block of each stage.
            Only the first ``num_stages`` entries are used.
            Defaults to ``(1, 2, 2)``.
        dilations (Sequence[int]): Dilation of each stage. Only the first
            ``num_stages`` entries are used. Defaults to ``(1, 1, 1)``.
        out_indices (Sequence[int]): Stages whose outputs are returned, as a
            tuple. Defaults to ``(2, )``.
        zero_init_residual (bool): Zero-initialise the last BN of every
            residual branch. Defaults to False.
        init_cfg (dict | list[dict]): Initialisation config. Defaults to
            kaiming-normal (fan_in) for every ``Conv2d``.
        **kwargs: Other arguments of :class:`mmpretrain.models.ResNet`
            (``frozen_stages``, ``norm_cfg``, ``norm_eval``, ``with_cp``...).
    """

    arch_settings = {
        depth: (BasicBlock, ((depth - 2) // 6, ) * 3)
        for depth in (20, 32, 44, 56, 110)
    }

    def __init__(self,
                 depth,
                 stem_channels=16,
                 base_channels=16,
                 num_stages=3,
                 strides=(1, 2, 2),
                 dilations=(1, 1, 1),
                 out_indices=(2, ),
                 zero_init_residual=False,
                 init_cfg=KAIMING_FAN_IN,
                 **kwargs):
        if not 1 <= num_stages <= 3:
            raise ValueError(
                f'CIFARResNet has 3 stages, got num_stages={num_stages}')
        super().__init__(
            depth,
            stem_channels=stem_channels,
            base_channels=base_channels,
            num_stages=num_stages,
            strides=tuple(strides)[:num_stages],
            dilations=tuple(dilations)[:num_stages],
            out_indices=out_indices,
            zero_init_residual=zero_init_residual,
            init_cfg=init_cfg,
            **kwargs)
