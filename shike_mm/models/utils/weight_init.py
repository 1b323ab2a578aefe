"""Initialisation configs shared by the SHIKE modules."""

# kaiming_normal_ with its PyTorch defaults (fan_in, gain sqrt(2)), which the
# SHIKE code applies to every conv of the trunk and the experts.
KAIMING_FAN_IN = dict(
    type='Kaiming',
    layer='Conv2d',
    mode='fan_in',
    nonlinearity='relu',
    distribution='normal')
