# Variant of shike_clip-vit-b16_imagenet-lt.py with SHIKE's own stage-1
# loss: plain cross-entropy for every expert instead of LIFT's
# logit-adjusted loss; stage 2 still re-trains the classifiers with
# Balanced Softmax (docs/shike_clip.md: why the default is LIFT's loss).
_base_ = ['./shike_clip-vit-b16_imagenet-lt.py']

model = dict(
    head=dict(
        ce_loss=dict(_delete_=True, type='CrossEntropyLoss', loss_weight=1.0)))
