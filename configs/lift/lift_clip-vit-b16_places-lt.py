# LIFT (Shi et al., ICML 2024), Places-LT: CLIP ViT-B/16 frozen,
# AdaptFormer (width 8) in all 12 blocks, a cosine classifier
# (scale 25) initialised from the class names' text embeddings, the
# logit-adjusted loss (tau 1). LIFT's recipe: SGD lr 0.01, momentum 0.9,
# weight decay 5e-4, 10 epochs with a per-epoch cosine, fp16 AMP,
# effective batch 128 (1 GPU x 128; the _8xb16 variant: 8 GPUs x 16).
# Reference top-1 (LIFT paper): 52.2.
# Not yet trained with shike_mm (docs/lift.md).
#
# Weights and head initialisation (docs/lift.md: where to get ViT-B-16.pt):
#   python tools/model_converters/clip_to_mm.py ViT-B-16.pt \
#       checkpoints/clip-vit-b16_openai.pth
#   python tools/misc/clip_text_classifier.py \
#       checkpoints/clip-vit-b16_openai.pth \
#       checkpoints/clip-vit-b16_text-classifier_places-lt.pth \
#       --class-names places-lt
# Train: python tools/train.py configs/lift/lift_clip-vit-b16_places-lt.py
# Test:  python tools/test.py configs/lift/lift_clip-vit-b16_places-lt.py \
#            CHECKPOINT [--crop-ensemble five]
_base_ = [
    '../_base_/models/lift_clip-vit-b16.py',
    '../_base_/datasets/places-lt_bs128_clip.py',
    '../_base_/schedules/lift_sgd_10e.py',
    '../_base_/default_runtime.py',
]

num_classes = 365
model = dict(
    backbone=dict(num_classes=num_classes),
    head=dict(
        num_classes=num_classes,
        text_weights='checkpoints/clip-vit-b16_text-classifier_places-lt.pth'))
