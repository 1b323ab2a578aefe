# SHIKE on CLIP ViT-B/16, ImageNet-LT: the LIFT model (frozen CLIP,
# AdaptFormer of width 32, text-initialised cosine classifiers of scale 25,
# the logit-adjusted loss) with SHIKE's ideas: 3 experts owning the
# adapters of the last 2 blocks, depth-wise fusion of class tokens, DKT and
# mutual KD, and stage 2 (epochs 8-9) re-training the experts' classifiers
# with Balanced Softmax. LIFT's recipe otherwise: SGD lr 0.01, momentum
# 0.9, weight decay 5e-4, 10 epochs, fp16 AMP, effective batch 128 (1 GPU x
# 128). The hypothesis it tests and the commands: docs/shike_clip.md.
# Reference: LIFT (ViT-B/16) 78.3 top-1. Not yet trained with shike_mm.
#
# Weights and head initialisation (docs/lift.md: where to get ViT-B-16.pt):
#   python tools/model_converters/clip_to_mm.py ViT-B-16.pt \
#       checkpoints/clip-vit-b16_openai.pth
#   python tools/misc/clip_text_classifier.py \
#       checkpoints/clip-vit-b16_openai.pth \
#       checkpoints/clip-vit-b16_text-classifier_imagenet-lt.pth \
#       --class-names imagenet-lt
# Train: python tools/train.py configs/shike/shike_clip-vit-b16_imagenet-lt.py
# Test:  python tools/test.py configs/shike/shike_clip-vit-b16_imagenet-lt.py \
#            CHECKPOINT [--crop-ensemble five]
_base_ = [
    '../_base_/models/shike_clip-vit-b16.py',
    '../_base_/datasets/imagenet-lt_bs128_clip.py',
    '../_base_/schedules/shike_clip_sgd_10e_switch8.py',
    '../_base_/default_runtime.py',
]

num_classes = 1000
model = dict(
    backbone=dict(num_classes=num_classes),
    head=dict(
        num_classes=num_classes,
        text_weights='checkpoints/clip-vit-b16_text-classifier_imagenet-lt.pth'
    ))
