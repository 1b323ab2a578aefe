# SHIKE's initialisation of every conv of the trunk and the experts:
# kaiming_normal_ with PyTorch's defaults (fan_in, gain sqrt(2)), as
# shike_mm.models.utils.KAIMING_FAN_IN gives it to the CIFAR modules. The
# model bases of MMPretrain backbones (ResNet, RegNet) pass it on as
# _base_.kaiming_fan_in.
kaiming_fan_in = dict(
    type='Kaiming',
    layer='Conv2d',
    mode='fan_in',
    nonlinearity='relu',
    distribution='normal')
