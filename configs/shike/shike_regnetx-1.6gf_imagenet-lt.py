# SHIKE on RegNetX-1.6GF with 3 experts and DKF, ImageNet-LT. OUR untuned
# starting point for another CNN family: the recipe of
# shike_r50_imagenet-lt.py (200 epochs with stage 2 from epoch 180, 32 per
# GPU x 8 GPUs = 256, SGD lr 0.1 * batch / 256, weight decay 5e-4,
# RandomResizedCrop + flip + RandAugment n2 m10).
# Train: tools/dist_train.sh configs/shike/shike_regnetx-1.6gf_imagenet-lt.py 8
_base_ = [
    '../_base_/models/shike_regnetx-1.6gf.py',
    '../_base_/datasets/imagenet-lt_bs32_randaug.py',
    '../_base_/schedules/shike_sgd_200e_switch180.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    checkpoint=dict(
        interval=1, max_keep_ckpts=1, save_best='lt/top1', rule='greater'))
