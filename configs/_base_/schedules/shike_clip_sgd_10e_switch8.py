# LIFT's schedule (lift_sgd_10e.py: SGD lr 0.01, momentum 0.9, weight decay
# 5e-4, batch 128, fp16 AMP, cosine stepped once per epoch) split into
# SHIKE's two stages within the same 10 epochs:
#   stage 1, e = 0..7: lr = 0.005 * (1 + cos(pi * e / 8)), annealed to 0 at
#            the switch, as SHIKE's stage 1;
#   stage 2, e = 8, 9: SHIKEStageSwitchHook freezes all but the re-trained
#            classifiers, resets the optimizer state and sets
#            stage2_lr_factor x lr = 2/3 x 0.01 (SHIKE's stage-2 peak over
#            its stage-1 peak, 0.1 / 0.15), then a cosine: 0.00667, 0.00333.
# Two epochs of re-training are about SHIKE's number of re-training steps
# on ImageNet-LT (2 x 906 iterations of 128 against SHIKE's 20 x 85 on
# CIFAR-100-LT) and leave stage 1 80% of LIFT's epochs (docs/shike_clip.md).
_base_ = ['./lift_sgd_10e.py']

switch_epoch = 8
max_epochs = 10

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

# Stage 1 never uses the stage-2 classifiers and stage 2 freezes the rest.
find_unused_parameters = True
