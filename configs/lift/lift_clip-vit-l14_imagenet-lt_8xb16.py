# lift_clip-vit-l14_imagenet-lt.py on 8 GPUs with 16 images each: the
# recipe's effective batch of 128 (8 x 16), learning rate and schedule.
# Train: tools/dist_train.sh \
#            configs/lift/lift_clip-vit-l14_imagenet-lt_8xb16.py 8
_base_ = ['./lift_clip-vit-l14_imagenet-lt.py']

train_dataloader = dict(batch_size=16)
