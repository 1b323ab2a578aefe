# SHIKE on Swin-T, with DKF. The trunk is Swin-T's first three stages
# (96, 192, 384 channels at strides 4, 8, 16) without output norms, so it
# hands raw maps on; each of the 3 experts owns a copy of the last stage
# (patch merging to 768 channels, 2 Swin blocks with 24 heads, LayerNorm),
# so trunk plus one expert is exactly Swin-T. Patch merging halves the
# resolution, so DKF applies: stride-2 3x3 conv + BN aligners from 96, 192
# and 384 channels to 768. Stochastic depth follows Swin-T's linear rule
# over its 12 blocks (0 to 0.2): the trunk covers blocks 0..9.
_base_ = ['./shike_common_large_scale.py']

drop_path_rate = 0.2
num_blocks = 12
num_shared_blocks = 10

model = dict(
    backbone=dict(
        type='SwinTransformer',
        arch=dict(embed_dims=96, depths=[2, 2, 6], num_heads=[3, 6, 12]),
        img_size=224,
        out_indices=(0, 1, 2),
        norm_cfg=None,
        drop_path_rate=drop_path_rate * (num_shared_blocks - 1) /
        (num_blocks - 1)),
    neck=dict(
        in_channels=(96, 192, 384),
        expert_stage=dict(
            type='SwinExpertStage',
            out_channels=768,
            depth=2,
            num_heads=24,
            window_size=7,
            drop_path_rate=[
                drop_path_rate * i / (num_blocks - 1)
                for i in range(num_shared_blocks, num_blocks)
            ]),
        # the expert stages initialise themselves as Swin does
        expert_init_cfg=None),
    head=dict(in_channels=768),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
    ])
