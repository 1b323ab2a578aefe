# ImageNet-LT (the OLTR split files) for CLIP models, as LIFT trains and
# tests them, batch 128 (clip_224_bs128.py).
_base_ = ['./clip_224_bs128.py']

dataset_type = 'ImageNetLT'
data_root = 'data/imagenet'

data_preprocessor = dict(num_classes=1000)

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageNet_LT_train.txt'))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root,
        ann_file='ImageNet_LT_val.txt'))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageNet_LT_test.txt'))
