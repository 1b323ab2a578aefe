# The official SHIKE CIFAR schedule, epoch by epoch (stepped per epoch):
#   stage 1, e = 0..179:  lr = 0.025 * (e + 1) for e < 5,
#                         then 0.075 * (1 + cos(pi * (e - 5) / 175));
#   stage 2, k = e - 180: lr = 0.0375 + 0.0125 * k for k < 5,
#                         then 0.05 * (1 + cos(pi * (k - 5) / 15)).
# MMEngine's schedulers are chained on the current LR; SHIKEStageSwitchHook
# sets stage2_lr_factor x the optimizer's lr (0.25 x 0.15 = 0.0375) at epoch
# 180 (with fresh momentum), and the stage-2 schedulers continue from it.
# Every stage-2 LR is relative to the optimizer's lr, so scaling that lr
# (by hand or with --auto-scale-lr) scales both stages.
switch_epoch = 180
max_epochs = 200

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='SGD', lr=0.15, momentum=0.9, weight_decay=5e-4, nesterov=False))

param_scheduler = [
    # stage 1: 0.025 .. 0.15 over epochs 0..5, cosine to 0 at epoch 180
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
    # stage 2: 0.0375 .. 0.1 over epochs 180..185, cosine to 0 at 200
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
        stage2_lr_factor=0.25,
        decay_frozen=False),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# Stage 1 never uses the stage-2 classifiers and stage 2 freezes the rest.
find_unused_parameters = True
