# Ablation of shike_clip-vit-b16_imagenet-lt.py: no depth-wise knowledge
# fusion; each expert's feature is its own final class token. Everything
# else unchanged (docs/shike_clip.md).
_base_ = ['./shike_clip-vit-b16_imagenet-lt.py']

model = dict(backbone=dict(fusion=None))
