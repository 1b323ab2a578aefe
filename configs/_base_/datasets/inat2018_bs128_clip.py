# iNaturalist 2018 (iNaturalist18_{train,val}.txt, see
# tools/dataset_converters/convert_inat2018.py; the val split is the test
# set of the long-tail literature) for CLIP models, as LIFT trains and tests
# them, batch 128 (clip_224_bs128.py).
_base_ = ['./clip_224_bs128.py']

dataset_type = 'INaturalist2018'
data_root = 'data/inat2018'

data_preprocessor = dict(num_classes=8142)

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='iNaturalist18_train.txt'))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='iNaturalist18_val.txt'))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='iNaturalist18_val.txt'))
