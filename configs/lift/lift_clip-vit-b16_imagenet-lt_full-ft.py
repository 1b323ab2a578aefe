# The PEFT axis, full fine-tuning: every CLIP ViT-B/16 weight trains with
# the cosine classifier, at LIFT's best full fine-tuning learning rate for
# ImageNet-LT (5e-4, its script for Table 6); the checkpoints then hold the
# whole network. LIFT reports it below AdaptFormer ("heavy fine-tuning
# hurts"). Same recipe otherwise, effective batch 128 (1 x 128). Not yet
# trained with shike_mm.
_base_ = ['./lift_clip-vit-b16_imagenet-lt.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='PretrainedBase',
        checkpoint={{_base_.model.backbone.module.checkpoint}},
        frozen=False,
        module={{_base_.model.backbone.module.module}}))
optim_wrapper = dict(optimizer=dict(lr=5e-4))
