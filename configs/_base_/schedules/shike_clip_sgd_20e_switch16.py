# shike_clip_sgd_10e_switch8.py for LIFT's 20 epochs on iNaturalist 2018:
# the same split, stage 2 in the last 20% of the epochs (16 and on).
#   stage 1, e = 0..15:  lr = 0.005 * (1 + cos(pi * e / 16));
#   stage 2, e = 16..19: 2/3 x 0.01, then a cosine over the 4 epochs.
_base_ = ['./shike_clip_sgd_10e_switch8.py']

switch_epoch = 16
max_epochs = 20

param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=switch_epoch,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=switch_epoch,
        convert_to_iter_based=False),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - switch_epoch,
        eta_min=0.0,
        by_epoch=True,
        begin=switch_epoch,
        end=max_epochs,
        convert_to_iter_based=False),
]

custom_hooks = [
    dict(
        type='SHIKEStageSwitchHook',
        switch_epoch=switch_epoch,
        stage2_lr_factor=2 / 3,
        decay_frozen=False),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
