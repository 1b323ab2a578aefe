# Ablation baseline: one expert (a plain ResNet-32 with a cosine classifier),
# no DKF, cross-entropy only; same schedule and decoupled stage 2.
_base_ = ['./shike_r32_cifar100-lt-if100.py']

model = dict(
    neck=dict(num_experts=1, fuse=False),
    head=dict(num_experts=1, dkt_loss=None, mkd_loss=None))
