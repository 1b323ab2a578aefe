# LIFT (Shi et al., ICML 2024), ImageNet-LT: CLIP ViT-L/14 frozen,
# AdaptFormer (width 16) in all 24 blocks, a cosine classifier
# (scale 25) initialised from the class names' text embeddings, the
# logit-adjusted loss (tau 1). LIFT's recipe: SGD lr 0.01, momentum 0.9,
# weight decay 5e-4, 10 epochs with a per-epoch cosine, fp16 AMP,
# effective batch 128 (1 GPU x 128; the _8xb16 variant: 8 GPUs x 16).
# Reference top-1 (LIFT paper): 82.9.
# Not yet trained with shike_mm (docs/lift.md).
#
# Weights and head initialisation (docs/lift.md: where to get ViT-L-14.pt):
#   python tools/model_converters/clip_to_mm.py ViT-L-14.pt \
#       checkpoints/clip-vit-l14_openai.pth
#   python tools/misc/clip_text_classifier.py \
#       checkpoints/clip-vit-l14_openai.pth \
#       checkpoints/clip-vit-l14_text-classifier_imagenet-lt.pth \
#       --class-names imagenet-lt
# Train: python tools/train.py configs/lift/lift_clip-vit-l14_imagenet-lt.py
# Test:  python tools/test.py configs/lift/lift_clip-vit-l14_imagenet-lt.py \
#            CHECKPOINT [--crop-ensemble five]
_base_ = [
    '../_base_/models/lift_clip-vit-l14.py',
    '../_base_/datasets/imagenet-lt_bs128_clip.py',
    '../_base_/schedules/lift_sgd_10e.py',
    '../_base_/default_runtime.py',
]

num_classes = 1000
model = dict(
    backbone=dict(num_classes=num_classes),
    head=dict(
        num_classes=num_classes,
        text_weights='checkpoints/clip-vit-l14_text-classifier_imagenet-lt.pth'
    ))

# LIFT's crop ensemble for ViT-L/14 resizes to 224 + 21.
crop_ensemble = dict(resize=245)
