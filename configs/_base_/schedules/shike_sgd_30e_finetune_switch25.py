# Our SHIKE schedule for fine-tuning an ImageNet-pretrained network (the
# Places-LT protocol: 30 epochs): SGD with lr = 0.02 * batch / 128 for the
# whole network, as in the PaCo and NCL Places-LT recipes. Stage 1 warms
# up linearly (per iteration) over the first epoch and follows a per-epoch
# cosine to 0 at epoch 25. Stage 2 re-trains the classifiers for the last 5
# epochs (about 2,400 iterations at batch 128, close to the official CIFAR
# stage 2's 1,700): SHIKEStageSwitchHook restarts at base_lr / 2
# (stage2_lr_factor 0.5) with fresh momentum, then a per-epoch cosine to 0
# at epoch 30.
_base_ = ['./shike_stage2_cosine.py']

switch_epoch = 25
max_epochs = 30
base_lr = 0.02

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
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=switch_epoch - 1,
        eta_min=0.0,
        by_epoch=True,
        begin=1,
        end=switch_epoch),
    dict(
        _base_.param_scheduler[0],
        T_max=max_epochs - switch_epoch,
        begin=switch_epoch,
        end=max_epochs),
]
custom_hooks = [dict(_base_.custom_hooks[0], switch_epoch=switch_epoch)]
train_cfg = dict(max_epochs=max_epochs)

# The total batch the learning rates are set for (4 GPUs x 32).
auto_scale_lr = dict(base_batch_size=128, enable=False)
