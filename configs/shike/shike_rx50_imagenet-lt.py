# SHIKE, ResNeXt-50 (32x4d) with 3 experts, ImageNet-LT. OUR recipe, the
# one of shike_r50_imagenet-lt.py with the ResNeXt-50 trunk and experts:
# 200 epochs with stage 2 from epoch 180, 32 per GPU x 8 GPUs = 256,
# SGD lr 0.1 * batch / 256 (momentum 0.9, weight decay 5e-4), RandomResizedCrop
# + flip + RandAugment n2 m10.
# Train: tools/dist_train.sh configs/shike/shike_rx50_imagenet-lt.py 8
_base_ = [
    '../_base_/models/shike_rx50.py',
    '../_base_/datasets/imagenet-lt_bs32_randaug.py',
    '../_base_/schedules/shike_sgd_200e_switch180.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    checkpoint=dict(
        interval=1, max_keep_ckpts=1, save_best='lt/top1', rule='greater'))
