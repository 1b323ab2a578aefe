# LIFT (Shi et al., ICML 2024) on CLIP ViT-B/16: the frozen CLIP vision
# tower with AdaptFormer in all 12 blocks (LIFT's width 2 ** floor(log2(C /
# 24)) from the class count), the class token after the final LayerNorm
# (768-d, before CLIP's projection), and a cosine classifier (scale 25)
# initialised from the class names' text embeddings, trained with the
# logit-adjusted loss (tau 1). Only the adapters and the head train.
#
# The vision tower is MMPretrain's VisionTransformer set up as CLIP's:
# pre-norm without patch-embedding bias, QuickGELU MLPs, LayerNorm eps 1e-5
# (MMPretrain's default 1e-6 is not CLIP's), no dropout. PretrainedBase
# loads `checkpoint` strictly when the model is built: the OpenAI archive
# ViT-B-16.pt converted by tools/model_converters/clip_to_mm.py. Never
# MMPretrain's vit-base-p16_clip-openai-pre_3rdparty_in1k weights: they
# were fine-tuned on the full, balanced ImageNet-1k (see docs/lift.md).
# A dataset config sets the class count (backbone and head) and the head's
# text_weights (tools/misc/clip_text_classifier.py).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='AdaptFormerModel',
        num_classes=1000,
        layer_indices=None,
        scale='learnable',
        module=dict(
            type='PretrainedBase',
            checkpoint='checkpoints/clip-vit-b16_openai.pth',
            prefix='backbone.',
            frozen=True,
            module=dict(
                type='VisionTransformer',
                arch='b',
                img_size=224,
                patch_size=16,
                drop_rate=0.0,
                drop_path_rate=0.0,
                pre_norm=True,
                final_norm=True,
                out_type='cls_token',
                norm_cfg=dict(type='LN', eps=1e-5),
                layer_cfgs=dict(act_cfg=dict(type='QuickGELU'))))),
    head=dict(
        type='CosineClsHead',
        num_classes=1000,
        in_channels=768,
        scale=25.0,
        text_weights=None,
        loss=dict(type='LogitAdjustedLoss', tau=1.0),
        topk=(1, 5)))
