"""CIFARResNet: the He et al. CIFAR ResNet built from mmpretrain's ResNet."""
import math

import pytest
import torch
import torch.nn as nn
from mmpretrain.models.backbones.resnet import BasicBlock

from shike_mm.models.backbones import CIFARResNet


@pytest.mark.parametrize('depth', [20, 32, 44, 56, 110])
def test_depth_sets_blocks_per_stage(depth):
    model = CIFARResNet(depth)
    blocks = [len(getattr(model, f'layer{i}')) for i in (1, 2, 3)]
    assert blocks == [(depth - 2) // 6] * 3
    assert all(
        isinstance(block, BasicBlock) for i in (1, 2, 3)
        for block in getattr(model, f'layer{i}'))


def test_stages_have_16_32_64_channels_and_halve_resolution():
    model = CIFARResNet(32, out_indices=(0, 1, 2))
    outs = model(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 32, 32), (2, 32, 16, 16),
                                              (2, 64, 8, 8)]


def test_stem_is_conv3x3_bn_relu_without_maxpool():
    model = CIFARResNet(32)
    model.eval()
    conv = model.conv1
    assert (conv.in_channels, conv.out_channels) == (3, 16)
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1)
    assert conv.padding == (1, 1) and conv.bias is None
    assert isinstance(model.norm1, nn.BatchNorm2d)
    assert not hasattr(model, 'maxpool')
    x = torch.randn(2, 3, 32, 32)
    stem = torch.relu(model.norm1(conv(x)))
    torch.testing.assert_close(
        model(x)[0], model.layer3(model.layer2(model.layer1(stem))))


def test_shortcuts_are_conv1x1_bn_only_where_the_shape_changes():
    model = CIFARResNet(32)
    assert all(block.downsample is None for block in model.layer1)
    for layer in (model.layer2, model.layer3):
        conv, norm = layer[0].downsample
        assert conv.kernel_size == (1, 1) and conv.stride == (2, 2)
        assert isinstance(norm, nn.BatchNorm2d)
        assert all(layer[i].downsample is None for i in range(1, len(layer)))


def test_init_is_kaiming_normal_fan_in_without_zero_init_residual():
    model = CIFARResNet(32)
    model.init_weights()
    weight = model.layer3[1].conv1.weight  # 64 x 64 x 3 x 3
    fan_in = weight[0].numel()
    assert weight.std().item() == pytest.approx(
        math.sqrt(2 / fan_in), rel=0.05)
    assert weight.abs().max().item() > 1 / math.sqrt(fan_in)  # not uniform
    assert torch.all(model.layer1[0].bn2.weight == 1)


def test_shared_trunk_for_shike():
    model = CIFARResNet(32, num_stages=2, out_indices=(0, 1))
    assert not hasattr(model, 'layer3')
    outs = model(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 32, 32), (2, 32, 16, 16)]


def test_rejects_unknown_depth_and_stage_count():
    with pytest.raises(KeyError):
        CIFARResNet(18)
    with pytest.raises(ValueError, match='num_stages'):
        CIFARResNet(32, num_stages=4)
