# What every SHIKE model shares, whatever its backbone: 3 experts whose
# features DKF fuses with the shallow maps (the neck), and the SHIKE head:
# cosine classifiers (scale 30) trained with cross-entropy, DKT and mutual
# KD, re-trained with Balanced Softmax in stage 2. The neck and the head
# name the same expert count; the head refuses features of another count.
# A backbone family adds its backbone, the neck's input channels and
# expert stage, and the head's in_channels, the width of its experts.
model = dict(
    type='ImageClassifier',
    neck=dict(type='DKFNeck', num_experts=3, fuse=True),
    head=dict(
        type='SHIKEHead',
        num_classes=1000,
        num_experts=3,
        scale=30.0,
        ce_loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        # The official weights and 'mean' reduction (over batch x classes):
        # with C classes the per-sample weights are 10/C and 1/C, 0.1/0.01
        # on CIFAR-100. The large-scale bases keep those per-sample
        # strengths at any C (shike_common_large_scale.py).
        dkt_loss=dict(type='DKTLoss', loss_weight=10.0, reduction='mean'),
        mkd_loss=dict(type='MutualKDLoss', loss_weight=1.0, reduction='mean'),
        bal_loss=dict(type='BalancedSoftmaxLoss', loss_weight=1.0),
        topk=(1, 5)))
