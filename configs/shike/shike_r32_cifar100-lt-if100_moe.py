# Ablation: three experts on a shared trunk (MoE) without DKF, trained with
# cross-entropy only; same schedule and decoupled stage 2.
_base_ = ['./shike_r32_cifar100-lt-if100.py']

model = dict(neck=dict(fuse=False), head=dict(dkt_loss=None, mkd_loss=None))
