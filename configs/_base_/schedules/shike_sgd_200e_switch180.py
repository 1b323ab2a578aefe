# Our large-scale SHIKE schedule for networks trained from scratch: the
# shape of the official CIFAR schedule (200 epochs, stage 2 from epoch 180,
# stepped per epoch), with the learning rates scaled by 0.1 / 0.15 so that
# the stage-1 peak follows the linear scaling rule lr = 0.1 * batch / 256.
# For base_lr = 0.1 (batch 256):
#   stage 1, e = 0..179:  lr = (0.1 / 6) * (e + 1) for e < 5,
#                         then 0.05 * (1 + cos(pi * (e - 5) / 175));
#   stage 2, k = e - 180: lr = 0.025 + (0.025 / 3) * k for k < 5,
#                         then (0.1 / 3) * (1 + cos(pi * (k - 5) / 15)).
# SHIKEStageSwitchHook sets stage2_lr_factor x base_lr (0.025 = base_lr / 4)
# at epoch 180 with fresh momentum; the stage-2 schedulers continue from it.
_base_ = ['./shike_cifar_200e.py']

base_lr = 0.1

# The CIFAR schedule is relative to the optimizer's lr in both stages
# (LinearLR factors, cosines to 0, the switch hook's stage2_lr_factor), so
# only the lr changes.
optim_wrapper = dict(optimizer=dict(lr=base_lr))

# The total batch the learning rates are set for (8 GPUs x 32).
auto_scale_lr = dict(base_batch_size=256, enable=False)
