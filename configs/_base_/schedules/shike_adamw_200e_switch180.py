# Our SHIKE schedule for ConvNeXt, Swin and ViT trained from scratch:
# MMPretrain's AdamW recipe for these families (weight decay 0.05, none on
# norms, biases and position tables, gradient clipping at norm 5) with
# lr = 5e-4 * batch / 512, and the SHIKE switch of the SGD schedule: stage
# 1 warms up linearly (per iteration) over 10 epochs and follows a cosine
# to 1e-5 at epoch 180; stage 2 restarts at base_lr / 2 (stage2_lr_factor
# 0.5 of SHIKEStageSwitchHook) with a fresh optimizer state and follows a
# per-epoch cosine to 0 at epoch 200.
_base_ = ['./shike_stage2_cosine.py']

switch_epoch = 180
max_epochs = 200
warmup_epochs = 10
base_lr = 5e-4

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='AdamW',
        lr=base_lr,
        weight_decay=0.05,
        eps=1e-8,
        betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            '.absolute_pos_embed': dict(decay_mult=0.0),
            '.relative_position_bias_table': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0),
        }),
    clip_grad=dict(max_norm=5.0))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=switch_epoch - warmup_epochs,
        eta_min=1e-5,
        by_epoch=True,
        begin=warmup_epochs,
        end=switch_epoch,
        convert_to_iter_based=True),
    dict(
        _base_.param_scheduler[0],
        T_max=max_epochs - switch_epoch,
        begin=switch_epoch,
        end=max_epochs),
]
custom_hooks = [dict(_base_.custom_hooks[0], switch_epoch=switch_epoch)]
train_cfg = dict(max_epochs=max_epochs)

# The total batch the learning rates are set for (8 GPUs x 64).
auto_scale_lr = dict(base_batch_size=512, enable=False)
