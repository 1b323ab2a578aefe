# SHIKE on CIFAR-100: a ResNet-32 trunk shared up to layer2, three experts
# that each own a copy of layer3 fused (DKF) with a shallow map, and cosine
# classifiers re-trained with Balanced Softmax in stage 2.
_base_ = ['./shike_common.py']

model = dict(
    backbone=dict(
        type='CIFARResNet', depth=32, num_stages=2, out_indices=(0, 1)),
    neck=dict(
        in_channels=(16, 32),
        expert_stage=dict(
            block='BasicBlock',
            num_blocks=5,
            in_channels=32,
            out_channels=64,
            stride=2)),
    head=dict(num_classes=100, in_channels=64))
