# CIFAR-10-LT with the CIFAR-100-LT recipe of the official SHIKE code:
# n_i = int(5000 * (1/IF)^(i/9)), first images of each class.
_base_ = ['./cifar100-lt_bs128_shike.py']

dataset_type = 'CIFAR10LT'
data_root = 'data/cifar10'

data_preprocessor = dict(num_classes=10)
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
