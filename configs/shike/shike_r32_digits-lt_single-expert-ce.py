# Baseline for shike_r32_digits-lt.py on the same data and epochs: one
# expert (the plain ResNet-32 with a cosine classifier), no DKF, trained
# with cross-entropy only (no DKT, no MKD) and no stage 2 re-training.
_base_ = ['./shike_r32_digits-lt.py']

model = dict(
    neck=dict(num_experts=1, fuse=False),
    # bal_loss=None: a single-stage head, without re-training classifiers.
    head=dict(num_experts=1, dkt_loss=None, mkd_loss=None, bal_loss=None))

# The stage-1 schedule of the SHIKE config stretched over all its 30
# epochs: 0.05 * (e + 1) / 3 for e < 2, then 0.025 * (1 + cos(pi * (e - 2)
# / 28)).
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1 / 3,
        end_factor=1.0,
        by_epoch=True,
        begin=0,
        end=3),
    dict(
        type='CosineAnnealingLR',
        T_max=28,
        eta_min=0.0,
        by_epoch=True,
        begin=2,
        end=30),
]
custom_hooks = []
find_unused_parameters = False

# This recipe's results with training seeds 0-4, as in the SHIKE config.
expected_results = dict(
    seeds=(0, 1, 2, 3, 4),
    top1=(91.0, 95.2, 95.4, 91.4, 93.6),
    many=(100.0, 100.0, 100.0, 100.0, 100.0),
    medium=(98.67, 98.67, 98.0, 96.67, 97.33),
    few=(78.5, 89.0, 90.0, 81.0, 86.0))
