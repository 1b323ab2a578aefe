# SHIKE, ResNet-50 with 3 experts, iNaturalist 2018 (8142 classes). OUR
# recipe (the paper's was never released), after the SADE and NCL
# multi-expert iNat protocols:
# - epochs: 200; stage 2 from epoch 180, as on ImageNet-LT (SADE trains
#   100 epochs, NCL and PaCo 400)
# - batch: 64 per GPU x 8 GPUs = 512
# - optimizer: SGD, momentum 0.9, weight decay 2e-4 (SADE, NCL), AMP
# - LR: linear scaling lr = 0.1 * batch / 256 = 0.2 (SADE and NCL use 0.2
#   at 512), the ImageNet-LT schedule's shape; stage 2 restarts at 0.05
# - augmentation: RandomResizedCrop 224, flip, RandAugment n2 m10 (PaCo)
# Train: tools/dist_train.sh configs/shike/shike_r50_inat2018.py 8
_base_ = [
    '../_base_/models/shike_r50.py',
    '../_base_/datasets/inat2018_bs64_randaug.py',
    '../_base_/schedules/shike_sgd_200e_switch180.py',
    '../_base_/default_runtime.py',
]

base_lr = 0.2

model = dict(head=dict(num_classes=8142))

# Stage 2 restarts at base_lr / 4, the schedule's stage2_lr_factor.
optim_wrapper = dict(optimizer=dict(lr=base_lr, weight_decay=2e-4))
auto_scale_lr = dict(base_batch_size=512)

default_hooks = dict(
    checkpoint=dict(
        interval=1, max_keep_ckpts=1, save_best='lt/top1', rule='greater'))
