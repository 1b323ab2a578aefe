# SHIKE on CIFAR-100-LT with imbalance factor 50 (12,608 training images).
# Paper: 59.8 top-1 (unverified, see configs/shike/README.md).
_base_ = ['./shike_r32_cifar100-lt-if100.py']

train_dataloader = dict(dataset=dict(imb_factor=50))
val_dataloader = dict(dataset=dict(imb_factor=50))
test_dataloader = val_dataloader
