# SHIKE on ViT-S/16 (DeiT-S size: 384 dims, 12 layers, 6 heads), in the
# experts-only mode. The trunk is the first 9 encoder layers without class
# token and without final norm, returning the 14x14 patch map; each of the
# 3 experts owns a copy of the last 3 layers plus the final LayerNorm, and
# its feature is the mean of its patch tokens. All ViT maps share one
# resolution, so DKF's down-sampling fusion does not apply: fuse=False.
# Stochastic depth follows the linear rule over the 12 layers (0 to 0.1):
# the trunk covers layers 0..8.
_base_ = ['./shike_common_large_scale.py']

drop_path_rate = 0.1
num_layers = 12
num_shared_layers = 9

model = dict(
    backbone=dict(
        type='VisionTransformer',
        arch=dict(
            embed_dims=384,
            num_layers=num_shared_layers,
            num_heads=6,
            feedforward_channels=1536),
        img_size=224,
        patch_size=16,
        with_cls_token=False,
        out_type='featmap',
        final_norm=False,
        drop_path_rate=drop_path_rate * (num_shared_layers - 1) /
        (num_layers - 1),
        init_cfg=[
            dict(
                type='Kaiming',
                layer='Conv2d',
                mode='fan_in',
                nonlinearity='linear')
        ]),
    neck=dict(
        in_channels=(384, ),
        expert_stage=dict(
            type='ViTExpertStage',
            num_layers=num_layers - num_shared_layers,
            num_heads=6,
            feedforward_channels=1536,
            drop_path_rate=[
                drop_path_rate * i / (num_layers - 1)
                for i in range(num_shared_layers, num_layers)
            ]),
        fuse=False,
        # the expert stages initialise themselves as DeiT does
        expert_init_cfg=None),
    head=dict(in_channels=384),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
    ])
