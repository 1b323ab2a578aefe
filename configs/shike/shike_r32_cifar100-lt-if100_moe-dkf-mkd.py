# Ablation: MoE + DKF + mutual knowledge distillation, no DKT.
_base_ = ['./shike_r32_cifar100-lt-if100.py']

model = dict(head=dict(dkt_loss=None))
