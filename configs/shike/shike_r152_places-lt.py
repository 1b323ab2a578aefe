# SHIKE, ImageNet-pretrained ResNet-152 with 3 experts, Places-LT (365
# classes). OUR recipe (the paper's was never released), after the
# Places-LT protocol of OLTR, PaCo, SADE and NCL: fine-tune an
# ImageNet-pretrained ResNet-152 for 30 epochs.
# - model: layer1-3 shared and every expert's layer4 start from the
#   pretrained ResNet-152 (each expert gets a copy of its layer4); the DKF
#   aligners start as identity fusion (every aligned map all ones), so the
#   first forward passes keep the pretrained features
# - epochs: 30; stage 2 (classifier re-training) from epoch 25
# - batch: 32 per GPU x 4 GPUs = 128
# - optimizer: SGD, momentum 0.9, weight decay 5e-4, AMP
# - LR: 0.02 * batch / 128 for the whole network (PaCo, NCL), 1-epoch
#   warm-up, cosine to 0 at epoch 25; stage 2 restarts at 0.01, cosine to 0
# - augmentation: RandomResizedCrop 224, flip, colour jitter 0.4 (NCL)
# Pretrained weights: MMPretrain's ImageNet-1k ResNet-152 checkpoint, saved
# as `pretrained` below (download link in docs/large_scale.md, which also
# shows how to use a torchvision checkpoint instead).
# Train: tools/dist_train.sh configs/shike/shike_r152_places-lt.py 4
_base_ = [
    '../_base_/models/shike_r152.py',
    '../_base_/datasets/places-lt_bs32_colorjitter.py',
    '../_base_/schedules/shike_sgd_30e_finetune_switch25.py',
    '../_base_/default_runtime.py',
]

pretrained = 'checkpoints/resnet152_8xb32_in1k_20210901-4d7582fa.pth'

model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint=pretrained,
            prefix='backbone.')),
    neck=dict(
        identity_fusion_init=True,
        expert_pretrained=dict(
            checkpoint=pretrained, prefix='backbone.layer4.')),
    head=dict(num_classes=365))

default_hooks = dict(
    checkpoint=dict(
        interval=1, max_keep_ckpts=1, save_best='lt/top1', rule='greater'))
