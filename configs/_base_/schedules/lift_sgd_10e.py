# LIFT's schedule: SGD (lr 0.01, momentum 0.9, weight decay 5e-4 on the
# adapters and the head, the only parameters with gradients), 10 epochs,
# cosine annealing to 0 stepped once per epoch, no warm-up, for a batch of
# 128 on one GPU, with fp16 mixed precision (AMP; tools/train.py trains in
# fp32 without a GPU).
max_epochs = 10

optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='float16',
    loss_scale='dynamic',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))

param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=False)
]

# LIFT tests the last epoch's model; the val split is evaluated once, at
# the end.
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()

# The recipe's batch; the 8-GPU variants keep it (8 x 16).
auto_scale_lr = dict(base_batch_size=128, enable=False)
