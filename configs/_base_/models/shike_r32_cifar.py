# SHIKE on CIFAR-100: a ResNet-32 trunk shared up to layer2, three experts
# that each own a copy of layer3 fused (DKF) with a shallow map, and cosine
# classifiers re-trained with Balanced Softmax in stage 2.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='CIFARResNet', depth=32, num_stages=2, out_indices=(0, 1)),
    neck=dict(
        type='DKFNeck',
        in_channels=(16, 32),
        num_experts=3,
        expert_stage=dict(
            block='BasicBlock',
            num_blocks=5,
            in_channels=32,
            out_channels=64,
            stride=2),
        fuse=True),
    head=dict(
        type='SHIKEHead',
        num_classes=100,
        in_channels=64,
        num_experts=3,
        scale=30.0,
        ce_loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        dkt_loss=dict(type='DKTLoss', loss_weight=10.0, reduction='mean'),
        mkd_loss=dict(type='MutualKDLoss', loss_weight=1.0, reduction='mean'),
        bal_loss=dict(type='BalancedSoftmaxLoss', loss_weight=1.0),
        topk=(1, 5)))
