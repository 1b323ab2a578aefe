# SHIKE on CIFAR-100-LT with imbalance factor 10 (19,573 training images).
# Paper: 66.8 top-1 (unverified, see configs/shike/README.md).
_base_ = ['./shike_r32_cifar100-lt-if100.py']

train_dataloader = dict(dataset=dict(imb_factor=10))
val_dataloader = dict(dataset=dict(imb_factor=10))
test_dataloader = val_dataloader
