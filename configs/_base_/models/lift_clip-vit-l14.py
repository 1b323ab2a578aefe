# LIFT on CLIP ViT-L/14: as lift_clip-vit-b16.py with the 24-block,
# 1024-wide tower of patch size 14 (the OpenAI archive ViT-L-14.pt), so
# LIFT's adapter width is 2 ** floor(log2(C / 48)).
_base_ = ['./lift_clip-vit-b16.py']

model = dict(
    backbone=dict(
        module=dict(
            checkpoint='checkpoints/clip-vit-l14_openai.pth',
            module=dict(arch='l', patch_size=14))),
    head=dict(in_channels=1024))
