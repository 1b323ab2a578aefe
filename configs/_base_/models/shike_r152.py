# SHIKE on ResNet-152: the ResNet-50 layout of shike_r50.py with the
# 3-8-36 block shared stages of ResNet-152; each expert owns a copy of its
# 3-block layer4.
_base_ = ['./shike_r50.py']

model = dict(backbone=dict(depth=152))
