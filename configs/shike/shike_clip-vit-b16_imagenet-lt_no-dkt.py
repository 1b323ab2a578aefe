# Ablation of shike_clip-vit-b16_imagenet-lt.py: no Dynamic Knowledge
# Transfer in stage 1. Everything else unchanged (docs/shike_clip.md).
_base_ = ['./shike_clip-vit-b16_imagenet-lt.py']

model = dict(head=dict(dkt_loss=None))
