# CIFAR-100-LT, imbalance factor 100, for CLIP models, as LIFT trains and
# tests them, batch 128. The training subset follows LIFT (and LDAM-DRW):
# each class's images are shuffled with one NumPy RandomState seeded 0 and
# the first n_i kept ('shuffle' rule, 10,847 images); the test split is
# CIFAR-100's balanced test set.
# The 32x32 images are up-sampled: train RandomResizedCrop 224 (scale
# 0.08-1, bilinear) and a horizontal flip; test short side 256, centre crop
# 224; the crop ensemble of tools/test.py resizes to 248 and averages the
# logits of five 224 crops. Pillow resizing, as torchvision on PIL images;
# CLIP's mean and std.
dataset_type = 'CIFAR100LT'
data_root = 'data/cifar100'
imb_factor = 100
channel_order = 'bgr'

data_preprocessor = dict(
    num_classes=100,
    mean=[0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255],
    std=[0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255],
    to_rgb=True)

train_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.08, 1.0),
        aspect_ratio_range=(3. / 4., 4. / 3.),
        backend='pillow',
        interpolation='bilinear'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(
        type='ResizeEdge',
        scale=256,
        edge='short',
        backend='pillow',
        interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
# tools/test.py: views None (the plain test), 'five' or 'ten' crops of the
# image resized to `resize`.
crop_ensemble = dict(views=None, resize=248)

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        imb_factor=imb_factor,
        subset_rule='shuffle',
        subset_seed=0,
        channel_order=channel_order,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        imb_factor=imb_factor,
        channel_order=channel_order,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Top-1/5 and Many (> 100 training images) / Medium / Few (< 20), as LIFT.
val_evaluator = dict(type='LongTailMetric', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
