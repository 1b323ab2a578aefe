# The single-expert CE baseline of digits-LT with 20% of each class's
# training images held out (HeldOutSplit, seed 0), for fitting a
# calibration temperature with tools/analysis_tools/calibrate.py. See
# docs/test_distributions.md.
_base_ = ['./shike_r32_digits-lt_single-expert-ce.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='HeldOutSplit',
        part='train',
        fraction=0.2,
        seed=0,
        dataset={{_base_.train_dataloader.dataset}}))

# Trained on 80% of the images: the full recipe's results do not apply.
expected_results = None
