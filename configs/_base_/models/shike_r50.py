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
kaiming_fan_in = dict(
    type='Kaiming',
    layer='Conv2d',
    mode='fan_in',
    nonlinearity='relu',
    distribution='normal')

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(0, 1, 2),
        zero_init_residual=False,
        init_cfg=kaiming_fan_in),
    neck=dict(
        type='DKFNeck',
        in_channels=(256, 512, 1024),
        num_experts=3,
        expert_stage=dict(
            block='Bottleneck', num_blocks=3, out_channels=2048, stride=2),
        fuse=True,
        aligner_kernel_size=3,
        aligner_width_ratio=1.0,
        expert_init_cfg=kaiming_fan_in),
    head=dict(
        type='SHIKEHead',
        num_classes=1000,
        in_channels=2048,
        num_experts=3,
        scale=30.0,
        ce_loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        # The official weights and 'mean' reduction (over batch x classes):
        # with C classes the per-sample weights are 10/C and 1/C, so they
        # shrink from 0.1/0.01 on CIFAR-100 to 0.01/0.001 at C=1000.
        dkt_loss=dict(type='DKTLoss', loss_weight=10.0, reduction='mean'),
        mkd_loss=dict(type='MutualKDLoss', loss_weight=1.0, reduction='mean'),
        bal_loss=dict(type='BalancedSoftmaxLoss', loss_weight=1.0),
        topk=(1, 5)))
