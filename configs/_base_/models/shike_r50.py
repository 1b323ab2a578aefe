# SHIKE on a 4-stage ResNet-50 (our generalisation of the official CIFAR
# model; the paper's large-scale models were never released): stem, layer1,
# layer2 and layer3 are shared; each of the 3 experts owns a copy of
# layer4. DKF aligns layer1 (256x56x56), layer2 (512x28x28) and layer3
# (1024x14x14) to the experts' 2048x7x7 maps with stride-2 3x3 conv + BN
# blocks that double the channels (experts 0, 1, 2 take layer1, 2, 3). Set
# `model.neck.aligner_kernel_size=1` for the cheaper 1x1 aligners (see
# configs/shike/README.md for the cost of both). Every conv of the trunk and
# the experts gets SHIKE's kaiming-normal (fan_in) initialisation; no
# zero-initialised residual branches.
_base_ = ['./shike_common_large_scale.py', './kaiming_fan_in.py']

model = dict(
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(0, 1, 2),
        zero_init_residual=False,
        init_cfg=_base_.kaiming_fan_in),
    neck=dict(
        in_channels=(256, 512, 1024),
        expert_stage=dict(
            block='Bottleneck', num_blocks=3, out_channels=2048, stride=2),
        aligner_kernel_size=3,
        aligner_width_ratio=1.0,
        expert_init_cfg=_base_.kaiming_fan_in),
    head=dict(in_channels=2048))
