# The PEFT axis, classifier only: lift_clip-vit-b16_imagenet-lt.py without
# adapters. The frozen CLIP ViT-B/16 feeds the text-initialised cosine
# classifier, the only part that trains (LIFT's runs without a PEFT option;
# its zero-shot and classifier-only rows). Same recipe, effective batch 128
# (1 x 128). Not yet trained with shike_mm.
_base_ = ['./lift_clip-vit-b16_imagenet-lt.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='PretrainedBase',
        checkpoint={{_base_.model.backbone.module.checkpoint}},
        frozen=True,
        module={{_base_.model.backbone.module.module}}))
