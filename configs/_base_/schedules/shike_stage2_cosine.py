# The stage 2 that ends the AdamW and fine-tuning schedules: at
# switch_epoch SHIKEStageSwitchHook restarts at base_lr / 2
# (stage2_lr_factor 0.5) with a fresh optimizer state, then a per-epoch
# cosine to 0 at max_epochs. A schedule that inherits it sets its own
# switch_epoch and max_epochs and fills in the None fields: the stage-2
# cosine (the last param_scheduler entry, with T_max, begin and end), the
# hook's switch_epoch and train_cfg.max_epochs.
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=None,
        eta_min=0.0,
        by_epoch=True,
        begin=None,
        end=None),
]

custom_hooks = [
    dict(
        type='SHIKEStageSwitchHook',
        switch_epoch=None,
        stage2_lr_factor=0.5,
        decay_frozen=False),
]

train_cfg = dict(by_epoch=True, max_epochs=None, val_interval=1)
val_cfg = dict()
test_cfg = dict()

find_unused_parameters = True
