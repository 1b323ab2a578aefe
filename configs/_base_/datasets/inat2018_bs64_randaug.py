# iNaturalist 2018 (split files of the classifier-balancing code, or built
# with tools/dataset_converters/convert_inat2018.py) at 224x224, batch 64
# per GPU, with the ImageNet-LT pipelines (RandomResizedCrop, flip,
# RandAugment n2 m10). The official val split is the test set of the
# long-tail literature; it serves both for selection and for the number.
_base_ = ['./imagenet-lt_bs32_randaug.py']

dataset_type = 'INaturalist2018'
data_root = 'data/inat2018'

data_preprocessor = dict(num_classes=8142)

train_dataloader = dict(
    batch_size=64,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='iNaturalist18_train.txt'))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='iNaturalist18_val.txt'))
test_dataloader = val_dataloader
