# Ablation of shike_clip-vit-b16_imagenet-lt.py: no stage 2. A single-stage
# head (no re-training classifiers, no SHIKEStageSwitchHook), whose stage 1
# gets the whole budget of 10 epochs with LIFT's own cosine, so that the
# ablation trains as long as the model it is compared with. The prediction
# is the mean of the stage-1 experts' logits (docs/shike_clip.md).
_base_ = ['./shike_clip-vit-b16_imagenet-lt.py']

model = dict(head=dict(bal_loss=None))

max_epochs = 10
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=False)
]
custom_hooks = []
# Every parameter with a gradient is used in every step.
find_unused_parameters = False
