# SHIKE on ConvNeXt-T with 3 experts and DKF, ImageNet-LT. OUR untuned
# starting point for another backbone family: the ImageNet-LT data recipe
# (RandomResizedCrop, flip, RandAugment n2 m10; no Mixup/CutMix, which
# SHIKE's hard-label losses do not support) with MMPretrain's AdamW recipe
# for ConvNeXt, 64 per GPU x 8 GPUs = 512, lr 5e-4 * batch / 512, 200
# epochs with stage 2 from epoch 180.
# Train: tools/dist_train.sh configs/shike/shike_convnext-t_imagenet-lt.py 8
_base_ = [
    '../_base_/models/shike_convnext-t.py',
    '../_base_/datasets/imagenet-lt_bs32_randaug.py',
    '../_base_/schedules/shike_adamw_200e_switch180.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=64)

default_hooks = dict(
    checkpoint=dict(
        interval=1, max_keep_ckpts=1, save_best='lt/top1', rule='greater'))
