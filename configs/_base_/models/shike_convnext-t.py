# SHIKE on ConvNeXt-T, with DKF. The trunk is ConvNeXt-T's first three
# stages (96, 192, 384 channels at strides 4, 8, 16); each of the 3 experts
# owns a copy of the last stage (2x2 stride-2 conv to 768 channels, 3
# ConvNeXt blocks, LayerNorm). The trunk's LayerNorm on its stage-3 output
# is the one that opens ConvNeXt's last down-sampling layer, so trunk plus
# one expert is exactly ConvNeXt-T. Every stage halves the resolution, so
# DKF applies as on ResNet: stride-2 3x3 conv + BN aligners from 96, 192
# and 384 channels to 768. Stochastic depth follows ConvNeXt-T's linear
# rule over its 18 blocks (0 to 0.1): the trunk covers blocks 0..14.
_base_ = ['./shike_common_large_scale.py']

drop_path_rate = 0.1
num_blocks = 18
num_shared_blocks = 15

model = dict(
    backbone=dict(
        type='ConvNeXt',
        arch=dict(depths=[3, 3, 9], channels=[96, 192, 384]),
        out_indices=(0, 1, 2),
        gap_before_final_norm=False,
        drop_path_rate=drop_path_rate * (num_shared_blocks - 1) /
        (num_blocks - 1)),
    neck=dict(
        in_channels=(96, 192, 384),
        expert_stage=dict(
            type='ConvNeXtExpertStage',
            out_channels=768,
            depth=3,
            drop_path_rate=[
                drop_path_rate * i / (num_blocks - 1)
                for i in range(num_shared_blocks, num_blocks)
            ]),
        # the expert stages initialise themselves as ConvNeXt does
        expert_init_cfg=None),
    head=dict(in_channels=768))
