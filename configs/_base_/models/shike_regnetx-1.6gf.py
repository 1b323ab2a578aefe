# SHIKE on RegNetX-1.6GF, with DKF. RegNet derives its stages from a block
# count, so the trunk is RegNetX-1.6GF with depth 16 instead of 18: the
# same first three stages (72, 168, 408 channels at strides 4, 8, 16).
# Each of the 3 experts owns a copy of the last stage: 2 ResNeXt-style
# bottlenecks (expansion 1, group width 24, so 38 groups) from 408 to 912
# channels, stride 2, exactly RegNetX-1.6GF's layer4. DKF aligns the three
# shallow maps to 912x7x7 with stride-2 3x3 conv + BN aligners. As in the
# ResNet configs, every conv gets SHIKE's kaiming-normal (fan_in)
# initialisation and no residual branch is zero-initialised.
_base_ = ['./shike_common_large_scale.py', './kaiming_fan_in.py']

model = dict(
    backbone=dict(
        type='RegNet',
        arch=dict(w0=80, wa=34.01, wm=2.25, group_w=24, depth=16, bot_mul=1.0),
        strides=(2, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(0, 1, 2),
        zero_init_residual=False,
        init_cfg=_base_.kaiming_fan_in),
    neck=dict(
        in_channels=(72, 168, 408),
        expert_stage=dict(
            block='ResNeXtBottleneck',
            num_blocks=2,
            out_channels=912,
            expansion=1,
            stride=2,
            base_channels=912,
            groups=912 // 24,
            width_per_group=24),
        expert_init_cfg=_base_.kaiming_fan_in),
    head=dict(in_channels=912))
