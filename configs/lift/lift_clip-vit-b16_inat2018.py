# LIFT (Shi et al., ICML 2024), iNaturalist 2018: CLIP ViT-B/16 frozen,
# AdaptFormer (width 256) in all 12 blocks, a cosine classifier
# (scale 25) initialised from the class names' text embeddings, the
# logit-adjusted loss (tau 1). LIFT's recipe: SGD lr 0.01, momentum 0.9,
# weight decay 5e-4, 20 epochs with a per-epoch cosine, fp16 AMP,
# effective batch 128 (1 GPU x 128; the _8xb16 variant: 8 GPUs x 16).
# Reference top-1: the LIFT paper reports iNaturalist 2018; our sources
# do not state the figure.
# Not yet trained with shike_mm (docs/lift.md).
#
# Weights and head initialisation (docs/lift.md: where to get ViT-B-16.pt):
#   python tools/model_converters/clip_to_mm.py ViT-B-16.pt \
#       checkpoints/clip-vit-b16_openai.pth
#   python tools/misc/clip_text_classifier.py \
#       checkpoints/clip-vit-b16_openai.pth \
#       checkpoints/clip-vit-b16_text-classifier_inat2018.pth \
#       --class-names data/inat2018/categories.json
# Train: python tools/train.py configs/lift/lift_clip-vit-b16_inat2018.py
# Test:  python tools/test.py configs/lift/lift_clip-vit-b16_inat2018.py \
#            CHECKPOINT [--crop-ensemble five]
_base_ = [
    '../_base_/models/lift_clip-vit-b16.py',
    '../_base_/datasets/inat2018_bs128_clip.py',
    '../_base_/schedules/lift_sgd_10e.py',
    '../_base_/default_runtime.py',
]

num_classes = 8142
model = dict(
    backbone=dict(num_classes=num_classes),
    head=dict(
        num_classes=num_classes,
        text_weights='checkpoints/clip-vit-b16_text-classifier_inat2018.pth'))

# 20 epochs on iNaturalist 2018, as LIFT.
max_epochs = 20
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
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
