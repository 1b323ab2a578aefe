# SHIKE on digits-LT with 20% of each class's training images held out
# (HeldOutSplit, seed 0, at least one image kept per class), for fitting a
# calibration temperature on images the model never saw:
#   python tools/analysis_tools/calibrate.py CONFIG CHECKPOINT
# Everything else is shike_r32_digits-lt.py. See docs/test_distributions.md.
_base_ = ['./shike_r32_digits-lt.py']

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
