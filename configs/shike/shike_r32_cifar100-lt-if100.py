# SHIKE, ResNet-32 with 3 experts, CIFAR-100-LT (imbalance factor 100):
# the official recipe. 200 epochs, batch 128 on 1 GPU, SGD 0.9 / 5e-4, AMP,
# stage 2 (classifier re-training with Balanced Softmax) from epoch 180.
# Paper: 56.3 top-1 (the authors' log ends at 56.34).
_base_ = [
    '../_base_/models/shike_r32_cifar.py',
    '../_base_/datasets/cifar100-lt_bs128_shike.py',
    '../_base_/schedules/shike_cifar_200e.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    logger=dict(interval=20),
    # keep the last checkpoint and the best one by test top-1
    checkpoint=dict(
        interval=1, max_keep_ckpts=1, save_best='lt/top1', rule='greater'))

env_cfg = dict(cudnn_benchmark=False)
# The official code seeds 123 and sets cudnn.deterministic.
randomness = dict(seed=123, deterministic=True)
