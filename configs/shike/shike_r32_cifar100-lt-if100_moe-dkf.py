# Ablation: MoE + depth-wise knowledge fusion, cross-entropy only.
_base_ = ['./shike_r32_cifar100-lt-if100.py']

model = dict(head=dict(dkt_loss=None, mkd_loss=None))
