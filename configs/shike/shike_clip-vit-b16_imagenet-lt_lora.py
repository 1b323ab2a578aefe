# The PEFT axis, LoRA: shike_clip-vit-b16_imagenet-lt.py with LoRA instead
# of AdaptFormer, as lift_clip-vit-b16_imagenet-lt_lora.py is to LIFT: the
# packed qkv projection of every block gets a rank-32 update with alpha 1
# (MMPretrain's LoRALinear); the trunk's 10 blocks share one set, each of
# the 3 experts owns the updates of the last 2 blocks; the fusion gates
# have the updates' rank as width. Same recipe, effective batch 128
# (1 x 128). Not yet trained with shike_mm (docs/shike_clip.md).
_base_ = ['./shike_clip-vit-b16_imagenet-lt.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='ExpertLoRAModel',
        module={{_base_.model.backbone.module}},
        num_experts=3,
        expert_layers=2,
        fusion=dict(shallow_depths=None),
        rank=32,
        alpha=1,
        drop_rate=0.0,
        targets=('attn.qkv', )))
