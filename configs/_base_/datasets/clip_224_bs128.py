# Image-folder datasets for CLIP models, as LIFT trains and tests them,
# batch 128; a dataset base names its dataset, class count and split files.
# Train: RandomResizedCrop 224 (scale 0.08-1, ratio 3/4-4/3, bilinear) and a
# horizontal flip, torchvision's defaults, which LIFT uses.
# Test: short side 256 (224 * 8 // 7), centre crop 224. The crop ensemble of
# tools/test.py (--crop-ensemble five, or crop_ensemble.views below)
# resizes to 248 (224 + 24) and averages the logits of the five crops.
# Images are decoded and resized with Pillow, as torchvision does on PIL
# images (interpolation and decoder both move the numbers, LIFT issue 13);
# CLIP's mean and std.
data_preprocessor = dict(
    mean=[0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255],
    std=[0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
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
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
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
    dataset=dict(pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Top-1/5 and Many (> 100 training images) / Medium / Few (< 20), as LIFT.
val_evaluator = dict(type='LongTailMetric', topk=(1, 5))

test_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_evaluator = val_evaluator
