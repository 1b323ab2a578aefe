# CIFAR-100-LT as in the official SHIKE code: the first n_i images of each
# class (n_i = int(500 * (1/IF)^(i/99))), batch 128, RandomCrop + flip +
# the CIFAR-10 AutoAugment policy + Cutout 16, CIFAR-10 mean/std.
# Without the data, MMPretrain downloads CIFAR-100 into `data_root` when
# online (download=True).
dataset_type = 'CIFAR100LT'
data_root = 'data/cifar100'

# The datasets serve BGR arrays, as LoadImageFromFile does, so that mmcv's
# colour ops (which take grey as 0.299 R + 0.587 G + 0.114 B of a BGR
# array) blend with the same grey as the official PIL ops; the data
# preprocessor turns them into RGB.
channel_order = 'bgr'
data_preprocessor = dict(
    num_classes=100,
    # CIFAR-10 statistics (R, G, B), as the official code uses for
    # CIFAR-100.
    mean=[0.4914 * 255, 0.4822 * 255, 0.4465 * 255],
    std=[0.2023 * 255, 0.1994 * 255, 0.2010 * 255],
    to_rgb=True)

# The CIFAR-10 AutoAugment policy: 25 sub-policies, one drawn per image.
# Magnitude index i (0..9) maps to: shear 0.3*i/9; translate
# (150/331)*i/9 of the side; rotate 30*i/9 degrees counter-clockwise
# (MMPretrain's positive angle is clockwise, hence the minus); colour,
# contrast, sharpness and brightness factor 1 +/- 0.9*i/9; posterize
# round(8 - 4*i/9) bits; solarize threshold 256 - 256*i/9. Shear, translate
# and the factor ops pick a random sign (MMPretrain's positive shear and
# translate go the other way to PIL's; with a random sign the distribution
# is the same). Fill grey 128 on all three channels: a scalar fill reaches
# cv2.warpAffine in Rotate as a one-channel border value.
random_sign_prob = 0.5
fill = (128, 128, 128)
cifar10_policies = [
    [
        dict(type='Invert', prob=0.1),
        dict(
            type='Contrast',
            prob=0.2,
            magnitude=0.9 * 6 / 9,
            random_negative_prob=random_sign_prob)
    ],
    [
        dict(
            type='Rotate',
            prob=0.7,
            angle=-30 * 2 / 9,
            pad_val=fill,
            random_negative_prob=0.0),
        dict(
            type='Translate',
            prob=0.3,
            magnitude=150 / 331 * 9 / 9,
            direction='horizontal',
            pad_val=fill,
            random_negative_prob=random_sign_prob)
    ],
    [
        dict(
            type='Sharpness',
            prob=0.8,
            magnitude=0.9 * 1 / 9,
            random_negative_prob=random_sign_prob),
        dict(
            type='Sharpness',
            prob=0.9,
            magnitude=0.9 * 3 / 9,
            random_negative_prob=random_sign_prob)
    ],
    [
        dict(
            type='Shear',
            prob=0.5,
            magnitude=0.3 * 8 / 9,
            direction='vertical',
            pad_val=fill,
            random_negative_prob=random_sign_prob),
        dict(
            type='Translate',
            prob=0.7,
            magnitude=150 / 331 * 9 / 9,
            direction='vertical',
            pad_val=fill,
            random_negative_prob=random_sign_prob)
    ],
    [dict(type='AutoContrast', prob=0.5),
     dict(type='Equalize', prob=0.9)],
    [
        dict(
            type='Shear',
            prob=0.2,
            magnitude=0.3 * 7 / 9,
            direction='vertical',
            pad_val=fill,
            random_negative_prob=random_sign_prob),
        dict(type='Posterize', prob=0.3, bits=5)
    ],
    [
        dict(
            type='ColorTransform',
            prob=0.4,
            magnitude=0.9 * 3 / 9,
            random_negative_prob=random_sign_prob),
        dict(
            type='Brightness',
            prob=0.6,
            magnitude=0.9 * 7 / 9,
            random_negative_prob=random_sign_prob)
    ],
    [
        dict(
            type='Sharpness',
            prob=0.3,
            magnitude=0.9 * 9 / 9,
            random_negative_prob=random_sign_prob),
        dict(
            type='Brightness',
            prob=0.7,
            magnitude=0.9 * 9 / 9,
            random_negative_prob=random_sign_prob)
    ],
    [dict(type='Equalize', prob=0.6),
     dict(type='Equalize', prob=0.5)],
    [
        dict(
            type='Contrast',
            prob=0.6,
            magnitude=0.9 * 7 / 9,
            random_negative_prob=random_sign_prob),
        dict(
            type='Sharpness',
            prob=0.6,
            magnitude=0.9 * 5 / 9,
            random_negative_prob=random_sign_prob)
    ],
    [
        dict(
            type='ColorTransform',
            prob=0.7,
            magnitude=0.9 * 7 / 9,
            random_negative_prob=random_sign_prob),
        dict(
            type='Translate',
            prob=0.5,
            magnitude=150 / 331 * 8 / 9,
            direction='horizontal',
            pad_val=fill,
            random_negative_prob=random_sign_prob)
    ],
    [dict(type='Equalize', prob=0.3),
     dict(type='AutoContrast', prob=0.4)],
    [
        dict(
            type='Translate',
            prob=0.4,
            magnitude=150 / 331 * 3 / 9,
            direction='vertical',
            pad_val=fill,
            random_negative_prob=random_sign_prob),
        dict(
            type='Sharpness',
            prob=0.2,
            magnitude=0.9 * 6 / 9,
            random_negative_prob=random_sign_prob)
    ],
    [
        dict(
            type='Brightness',
            prob=0.9,
            magnitude=0.9 * 6 / 9,
            random_negative_prob=random_sign_prob),
        dict(
            type='ColorTransform',
            prob=0.2,
            magnitude=0.9 * 8 / 9,
            random_negative_prob=random_sign_prob)
    ],
    [
        dict(type='Solarize', prob=0.5, thr=256 - 256 * 2 / 9),
        dict(type='Invert', prob=0.0)
    ],
    [dict(type='Equalize', prob=0.2),
     dict(type='AutoContrast', prob=0.6)],
    [dict(type='Equalize', prob=0.2),
     dict(type='Equalize', prob=0.6)],
    [
        dict(
            type='ColorTransform',
            prob=0.9,
            magnitude=0.9 * 9 / 9,
            random_negative_prob=random_sign_prob),
        dict(type='Equalize', prob=0.6)
    ],
    [
        dict(type='AutoContrast', prob=0.8),
        dict(type='Solarize', prob=0.2, thr=256 - 256 * 8 / 9)
    ],
    [
        dict(
            type='Brightness',
            prob=0.1,
            magnitude=0.9 * 3 / 9,
            random_negative_prob=random_sign_prob),
        dict(
            type='ColorTransform',
            prob=0.7,
            magnitude=0.9 * 0 / 9,
            random_negative_prob=random_sign_prob)
    ],
    [
        dict(type='Solarize', prob=0.4, thr=256 - 256 * 5 / 9),
        dict(type='AutoContrast', prob=0.9)
    ],
    [
        dict(
            type='Translate',
            prob=0.9,
            magnitude=150 / 331 * 9 / 9,
            direction='vertical',
            pad_val=fill,
            random_negative_prob=random_sign_prob),
        dict(
            type='Translate',
            prob=0.7,
            magnitude=150 / 331 * 9 / 9,
            direction='vertical',
            pad_val=fill,
            random_negative_prob=random_sign_prob)
    ],
    [
        dict(type='AutoContrast', prob=0.9),
        dict(type='Solarize', prob=0.8, thr=256 - 256 * 3 / 9)
    ],
    [dict(type='Equalize', prob=0.8),
     dict(type='Invert', prob=0.1)],
    [
        dict(
            type='Translate',
            prob=0.7,
            magnitude=150 / 331 * 9 / 9,
            direction='vertical',
            pad_val=fill,
            random_negative_prob=random_sign_prob),
        dict(type='AutoContrast', prob=0.9)
    ],
]

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='AutoAugment',
        policies=cifar10_policies,
        hparams=dict(pad_val=fill)),
    # One 16x16 hole, always, black: the official Cutout zeroes the [0, 1]
    # tensor before normalisation.
    dict(type='Cutout', shape=16, pad_val=0, prob=1.0),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        imb_factor=100,
        subset_rule='first',
        channel_order=channel_order,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        imb_factor=100,
        channel_order=channel_order,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Top-1/5, Many/Medium/Few (training counts from the dataset) and ECE.
val_evaluator = dict(type='LongTailMetric', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
