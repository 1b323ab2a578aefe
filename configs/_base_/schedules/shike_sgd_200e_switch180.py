# Our large-scale SHIKE schedule for networks trained from scratch: the
# shape of the official CIFAR schedule (200 epochs, stage 2 from epoch 180,
# stepped per epoch), with the learning rates scaled by 0.1 / 0.15 so that
# the stage-1 peak follows the linear scaling rule lr = 0.1 * batch / 256.
# For base_lr = 0.1 (batch 256):
#   stage 1, e = 0..179:  lr = (0.1 / 6) * (e + 1) for e < 5,
#                         then 0.05 * (1 + cos(pi * (e - 5) / 175));
#   stage 2, k = e - 180: lr = 0.025 + (0.025 / 3) * k for k < 5,
#                         then (0.1 / 3) * (1 + cos(pi * (k - 5) / 15)).
# SHIKEStageSwitchHook sets stage2_lr (0.025 = base_lr / 4) at epoch 180
# with fresh momentum; the stage-2 schedulers continue from it. stage2_lr is
# absolute: a config that changes base_lr (or runs with --auto-scale-lr)
# must scale it too.
switch_epoch = 180
max_epochs = 200
base_lr = 0.1

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='SGD',
        lr=base_lr,
        momentum=0.9,
        weight_decay=5e-4,
        nesterov=False))

param_scheduler = [
    # stage 1: base_lr / 6 .. base_lr over epochs 0..5, cosine to 0 at 180
    dict(
        type='LinearLR',
        start_factor=1 / 6,
        end_factor=1.0,
        by_epoch=True,
        begin=0,
        end=6),
    dict(
        type='CosineAnnealingLR',
        T_max=175,
        eta_min=0.0,
        by_epoch=True,
        begin=5,
        end=switch_epoch),
    # stage 2: stage2_lr .. (2/3) base_lr over 180..185, cosine to 0 at 200
    dict(
        type='LinearLR',
        start_factor=0.375,
        end_factor=1.0,
        by_epoch=True,
        begin=switch_epoch,
        end=switch_epoch + 6),
    dict(
        type='CosineAnnealingLR',
        T_max=15,
        eta_min=0.0,
        by_epoch=True,
        begin=switch_epoch + 5,
        end=max_epochs),
]

custom_hooks = [
    dict(
        type='SHIKEStageSwitchHook',
        switch_epoch=switch_epoch,
        stage2_lr=base_lr / 4,
        decay_frozen=False),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# The total batch the learning rates are set for (8 GPUs x 32).
auto_scale_lr = dict(base_batch_size=256, enable=False)

# Stage 1 never uses the stage-2 classifiers and stage 2 freezes the rest.
find_unused_parameters = True
