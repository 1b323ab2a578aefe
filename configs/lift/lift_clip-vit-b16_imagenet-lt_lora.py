# The PEFT axis, LoRA: lift_clip-vit-b16_imagenet-lt.py with MMPretrain's
# LoRAModel instead of AdaptFormer, on the same frozen CLIP ViT-B/16:
# rank 32 (LIFT's width for ImageNet-LT) and alpha 1, so the update is
# scaled by 1 / 32 as in LIFT's LoRA. MMPretrain's LoRA adapts the whole
# packed qkv projection (q, k and v) of every block; LIFT's adapts q and v
# only. LIFT's table of PEFT methods (its Table 6) ran LoRA; its headline
# numbers are AdaptFormer's. Same recipe, effective batch 128 (1 x 128).
# Not yet trained with shike_mm.
_base_ = ['./lift_clip-vit-b16_imagenet-lt.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='LoRAModel',
        module={{_base_.model.backbone.module}},
        alpha=1,
        rank=32,
        drop_rate=0.0,
        targets=[dict(type='qkv')]))
