# SHIKE on CIFAR-10-LT with imbalance factor 100 (12,406 training images),
# with the CIFAR-100-LT recipe of the official code.
_base_ = [
    '../_base_/models/shike_r32_cifar.py',
    '../_base_/datasets/cifar10-lt_bs128_shike.py',
    '../_base_/schedules/shike_cifar_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=10))

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(
        interval=1, max_keep_ckpts=1, save_best='lt/top1', rule='greater'))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=123, deterministic=True)
