# Long-tailed digits: the 1,797 real 8x8 handwritten digits bundled with
# scikit-learn, upscaled to 16x16x3 (no download). The balanced test split
# holds 50 images per digit (500); the training split keeps the CIFAR-LT
# exponential profile with imbalance factor 20: 417 images, from 124
# (digit 0) down to 6 (digit 9). Batch 16, so that a short CPU schedule
# still makes 26 optimizer steps per epoch (the last, partial batch is
# dropped); RandomCrop with padding, no flips (a mirrored digit is another
# shape).
dataset_type = 'DigitsLT'
imb_factor = 20
test_per_class = 50
split_seed = 0
# Twice the digits' own 8x8: the ResNet-32 keeps a 4x4 map in its last
# stage, at a quarter of the cost of CIFAR's 32x32.
image_size = 16

data_preprocessor = dict(
    num_classes=10,
    # Pixel statistics of all 1,797 digits at 16x16 (0..255).
    mean=[77.8, 77.8, 77.8],
    std=[81.2, 81.2, 81.2],
    to_rgb=False)  # the three channels are the same grey image

train_pipeline = [
    dict(type='RandomCrop', crop_size=image_size, padding=image_size // 8),
    dict(type='PackInputs'),
]
# Resize is a no-op on the dataset's images; it lets the inferencer take
# digit images of any size (light strokes on a dark background, the digit
# filling the frame, as scikit-learn's digits).
test_pipeline = [
    dict(type='Resize', scale=(image_size, image_size)),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    drop_last=True,
    dataset=dict(
        type=dataset_type,
        split='train',
        imb_factor=imb_factor,
        test_per_class=test_per_class,
        split_seed=split_seed,
        image_size=image_size,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=250,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        split='test',
        imb_factor=imb_factor,
        test_per_class=test_per_class,
        split_seed=split_seed,
        image_size=image_size,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Shot groups scaled to this small training set (head 124, tail 6): Many
# has more than 50 training images (digits 0-2: 124, 88, 63), Medium 20 to
# 50 (digits 3-5: 45, 32, 23), Few fewer than 20 (digits 6-9: 16, 12, 8,
# 6). Few keeps CIFAR's threshold of 20; Many's 100 would leave one class.
val_evaluator = dict(
    type='LongTailMetric', topk=(1, 5), many_thr=50, few_thr=20)

test_dataloader = val_dataloader
test_evaluator = val_evaluator
