"""DKFNeck: expert-exclusive deep stages fused with aligned shallow maps."""
import math

import pytest
import torch
import torch.nn as nn

from shike_mm.models.necks import DKFNeck


def _resnet32_inputs(batch_size=2):
    return (torch.randn(batch_size, 16, 32,
                        32), torch.randn(batch_size, 32, 16, 16))


def _conv_channels(aligner):
    return [(block.conv.in_channels, block.conv.out_channels)
            for block in aligner]


def _has_relu(aligner):
    return [isinstance(block[-1], nn.ReLU) for block in aligner]


def test_returns_one_pooled_feature_per_expert():
    neck = DKFNeck(num_experts=3)
    feats = neck(_resnet32_inputs())
    assert isinstance(feats, tuple) and len(feats) == 3
    assert all(tuple(f.shape) == (2, 64) for f in feats)


def test_default_sources_and_aligners_follow_the_official_code():
    neck = DKFNeck(num_experts=4)
    assert neck.shallow_sources == (0, 1, 0, 1)
    assert [_conv_channels(a) for a in neck.aligners] == [[(16, 32), (32, 64)],
                                                          [(32, 64)],
                                                          [(16, 32), (32, 64)],
                                                          [(32, 64)]]
    # ReLU after every conv but the second one.
    assert [_has_relu(a) for a in neck.aligners] == [[True, False], [True],
                                                     [True, False], [True]]
    for aligner in neck.aligners:
        for block in aligner:
            conv = block.conv
            assert conv.kernel_size == (3, 3) and conv.stride == (2, 2)
            assert conv.padding == (1, 1) and conv.bias is None
            assert isinstance(block.bn, nn.BatchNorm2d)


def test_feature_is_pooled_hadamard_product_of_own_source():
    neck = DKFNeck(num_experts=3, shallow_sources=(1, 1, 0)).eval()
    inputs = _resnet32_inputs()
    feats = neck(inputs)
    for m, source in enumerate((1, 1, 0)):
        deep = neck.expert_stages[m](inputs[1])
        aligned = neck.aligners[m](inputs[source])
        torch.testing.assert_close(feats[m], (deep * aligned).mean((2, 3)))
    assert len(neck.aligners[0]) == 1 and len(neck.aligners[2]) == 2


def test_without_fusion_pools_the_expert_stage_alone():
    neck = DKFNeck(num_experts=2, fuse=False).eval()
    assert neck.aligners is None
    inputs = _resnet32_inputs()
    for stage, feat in zip(neck.expert_stages, neck(inputs)):
        torch.testing.assert_close(feat, stage(inputs[1]).mean((2, 3)))


def test_experts_get_kaiming_and_aligners_keep_pytorch_default_init():
    neck = DKFNeck(num_experts=2)
    aligner_before = neck.aligners[0][1].conv.weight.clone()
    neck.init_weights()
    expert = neck.expert_stages[1][2].conv1.weight
    fan_in = expert[0].numel()
    assert expert.std().item() == pytest.approx(
        math.sqrt(2 / fan_in), rel=0.05)
    aligner = neck.aligners[0][1].conv.weight
    torch.testing.assert_close(aligner, aligner_before)
    # kaiming_uniform(a=sqrt(5)) is bounded by 1 / sqrt(fan_in).
    assert aligner.abs().max().item() <= 1 / math.sqrt(aligner[0].numel())


def test_bottleneck_expert_stage_with_three_shallow_maps():
    """The ResNet-50 layout at toy width: layer1..3 shared, layer4 per
    expert, aligner channels taken from the stages."""
    neck = DKFNeck(
        in_channels=(8, 16, 32),
        num_experts=3,
        expert_stage=dict(
            block='Bottleneck', num_blocks=1, out_channels=64, stride=2))
    assert [_conv_channels(a) for a in neck.aligners] == [[(8, 16), (16, 32),
                                                           (32, 64)],
                                                          [(16, 32), (32, 64)],
                                                          [(32, 64)]]
    assert _has_relu(neck.aligners[0]) == [True, False, True]
    inputs = (torch.randn(2, 8, 16,
                          16), torch.randn(2, 16, 8,
                                           8), torch.randn(2, 32, 4, 4))
    assert all(tuple(f.shape) == (2, 64) for f in neck(inputs))


def test_rejects_inconsistent_configs_and_inputs():
    with pytest.raises(ValueError, match='shallow_sources'):
        DKFNeck(num_experts=2, shallow_sources=(0, 2))
    with pytest.raises(ValueError, match='shallow_sources'):
        DKFNeck(num_experts=3, shallow_sources=(0, 1))
    with pytest.raises(ValueError, match='deepest shallow map'):
        DKFNeck(
            expert_stage=dict(num_blocks=1, in_channels=16, out_channels=64))
    with pytest.raises(ValueError, match='Unknown block'):
        DKFNeck(
            expert_stage=dict(block='Basic', num_blocks=1, out_channels=64))
    with pytest.raises(ValueError, match='2 shallow maps'):
        DKFNeck()(_resnet32_inputs()[1:])
