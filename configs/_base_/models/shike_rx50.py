# SHIKE on ResNeXt-50 (32x4d): the ResNet-50 layout of shike_r50.py with
# ResNeXt bottlenecks (32 groups of width 4 at the first stage) in the
# shared stages and in every expert's layer4.
_base_ = ['./shike_r50.py']

model = dict(
    backbone=dict(type='ResNeXt', groups=32, width_per_group=4),
    neck=dict(
        expert_stage=dict(
            block='ResNeXtBottleneck',
            groups=32,
            width_per_group=4,
            base_channels=64)))
