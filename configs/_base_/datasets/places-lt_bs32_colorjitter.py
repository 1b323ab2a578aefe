# Places-LT (the OLTR split files, paths relative to the Places365 image
# root) at 224x224, batch 32 per GPU. For the short fine-tuning of an
# ImageNet-pretrained network the augmentation is light, as in the NCL
# Places-LT protocol: RandomResizedCrop 224, horizontal flip and colour
# jitter 0.4. Test: short side 256, centre crop 224. The val split (20
# images per class) selects the best checkpoint; the test split gives the
# number.
_base_ = ['./imagenet-lt_bs32_randaug.py']

dataset_type = 'PlacesLT'
data_root = 'data/places365'

data_preprocessor = dict(num_classes=365)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=224,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='Places_LT_train.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, ann_file='Places_LT_val.txt'))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, ann_file='Places_LT_test.txt'))
