"""DKFNeck options for 4-stage backbones: aligner kernel and width, identity
fusion, ResNeXt experts and experts copied from a pretrained stage."""
import pytest
import torch
import torch.nn as nn
from mmpretrain.models.backbones import ResNet, ResNeXt

from shike_mm.models.necks import DKFNeck

# A ResNet-50 at 1/32 width: layer1..3 give 8, 16 and 32 channels, layer4 64.
TINY_WIDTHS = (8, 16, 32)
TINY_BOTTLENECK_STAGE = dict(
    block='Bottleneck', num_blocks=3, out_channels=64, stride=2)


def _tiny_resnet50_maps(batch_size=2, size=16):
    return tuple(
        torch.randn(batch_size, channels, size // 2**k, size // 2**k)
        for k, channels in enumerate(TINY_WIDTHS))


def _conv_shapes(aligner):
    return [tuple(block.conv.weight.shape) for block in aligner]


def test_resnet50_aligners_double_channels_and_halve_resolution():
    neck = DKFNeck(
        in_channels=(256, 512, 1024),
        expert_stage=dict(
            block='Bottleneck', num_blocks=3, out_channels=2048, stride=2))
    assert neck.shallow_sources == (0, 1, 2)
    assert [_conv_shapes(a) for a in neck.aligners] == [
        [(512, 256, 3, 3), (1024, 512, 3, 3), (2048, 1024, 3, 3)],
        [(1024, 512, 3, 3), (2048, 1024, 3, 3)],
        [(2048, 1024, 3, 3)],
    ]
    for aligner in neck.aligners:
        assert all(block.conv.stride == (2, 2) for block in aligner)
    aligner_params = sum(p.numel() for p in neck.aligners.parameters())
    # about 67M with 3x3 kernels, the cost spec 1.2 warns about
    assert 67e6 < aligner_params < 68e6


def test_one_by_one_kernels_and_reduced_width_make_aligners_cheaper():
    full = DKFNeck(in_channels=TINY_WIDTHS, expert_stage=TINY_BOTTLENECK_STAGE)
    one_by_one = DKFNeck(
        in_channels=TINY_WIDTHS,
        expert_stage=TINY_BOTTLENECK_STAGE,
        aligner_kernel_size=1)
    narrow = DKFNeck(
        in_channels=TINY_WIDTHS,
        expert_stage=TINY_BOTTLENECK_STAGE,
        aligner_width_ratio=0.5)
    assert [_conv_shapes(a) for a in one_by_one.aligners] == [
        [(16, 8, 1, 1), (32, 16, 1, 1), (64, 32, 1, 1)],
        [(32, 16, 1, 1), (64, 32, 1, 1)],
        [(64, 32, 1, 1)],
    ]
    assert all(block.conv.padding == (0, 0) for a in one_by_one.aligners
               for block in a)
    # the width ratio narrows the hidden convs; the last one gives C_out
    assert [_conv_shapes(a) for a in narrow.aligners] == [
        [(8, 8, 3, 3), (16, 8, 3, 3), (64, 16, 3, 3)],
        [(16, 16, 3, 3), (64, 16, 3, 3)],
        [(64, 32, 3, 3)],
    ]

    def conv_weights(neck):
        return sum(block.conv.weight.numel() for a in neck.aligners
                   for block in a)

    assert conv_weights(one_by_one) * 9 == conv_weights(full)
    assert conv_weights(narrow) < conv_weights(full)
    inputs = _tiny_resnet50_maps()
    for neck in (one_by_one, narrow):
        assert all(f.shape == (2, 64) for f in neck(inputs))


def test_identity_fusion_init_starts_each_feature_as_its_expert_map():
    neck = DKFNeck(
        in_channels=TINY_WIDTHS,
        expert_stage=TINY_BOTTLENECK_STAGE,
        identity_fusion_init=True)
    neck.init_weights()
    for aligner in neck.aligners:
        last_norm = aligner[-1][1]
        assert torch.all(last_norm.weight == 0)
        assert torch.all(last_norm.bias == 1)
    neck.eval()
    inputs = _tiny_resnet50_maps()
    for stage, feat in zip(neck.expert_stages, neck(inputs)):
        torch.testing.assert_close(feat, stage(inputs[-1]).mean((2, 3)))


def test_default_init_keeps_aligners_at_pytorch_default():
    neck = DKFNeck(in_channels=TINY_WIDTHS, expert_stage=TINY_BOTTLENECK_STAGE)
    neck.init_weights()
    assert all(
        torch.all(aligner[-1][1].weight == 1) for aligner in neck.aligners)


def test_resnext_expert_stage_matches_resnext50_layer4():
    neck = DKFNeck(
        in_channels=(256, 512, 1024),
        expert_stage=dict(
            block='ResNeXtBottleneck',
            num_blocks=3,
            out_channels=2048,
            stride=2,
            groups=32,
            width_per_group=4,
            base_channels=64))
    layer4 = ResNeXt(depth=50, groups=32, width_per_group=4).layer4
    expected = {k: v.shape for k, v in layer4.state_dict().items()}
    for stage in neck.expert_stages:
        assert {k: v.shape for k, v in stage.state_dict().items()} == expected
    assert neck.expert_stages[0][0].conv2.groups == 32


def test_experts_only_mode_for_maps_of_one_resolution():
    """fuse=False pools each expert's own map; with fusion, maps that keep
    their resolution are rejected with a hint to the experts-only mode."""
    stage = dict(block='BasicBlock', num_blocks=1, out_channels=8, stride=1)
    inputs = (torch.randn(2, 8, 4, 4), )
    experts_only = DKFNeck(
        in_channels=(8, ), expert_stage=stage, fuse=False).eval()
    assert experts_only.aligners is None
    for expert, feat in zip(experts_only.expert_stages, experts_only(inputs)):
        torch.testing.assert_close(feat, expert(inputs[0]).mean((2, 3)))
    with pytest.raises(ValueError, match='fuse=False'):
        DKFNeck(in_channels=(8, ), expert_stage=stage)(inputs)


def _save_resnet50_checkpoint(path, seed=0):
    """A tiny ResNet-50 saved as an MMPretrain classifier checkpoint."""
    torch.manual_seed(seed)
    backbone = ResNet(depth=50, base_channels=2, stem_channels=8)
    backbone.init_weights()
    for module in backbone.modules():
        if isinstance(module, nn.BatchNorm2d):  # non-trivial statistics
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 2)
    state_dict = {
        f'backbone.{key}': value
        for key, value in backbone.state_dict().items()
    }
    state_dict['head.fc.weight'] = torch.randn(10, 64)
    torch.save({'meta': {}, 'state_dict': state_dict}, str(path))
    return backbone


def test_expert_pretrained_copies_stage4_into_every_expert(tmp_path):
    checkpoint = tmp_path / 'tiny_resnet50.pth'
    pretrained = _save_resnet50_checkpoint(checkpoint)
    neck = DKFNeck(
        in_channels=TINY_WIDTHS,
        expert_stage=TINY_BOTTLENECK_STAGE,
        expert_pretrained=dict(
            checkpoint=str(checkpoint), prefix='backbone.layer4.'))
    before = neck.expert_stages[0][0].conv1.weight.clone()
    neck.init_weights()

    expected = pretrained.layer4.state_dict()
    for stage in neck.expert_stages:
        copied = stage.state_dict()
        assert copied.keys() == expected.keys()
        for key, value in expected.items():
            torch.testing.assert_close(copied[key], value, msg=key)
    assert not torch.equal(before, neck.expert_stages[0][0].conv1.weight)
    # copies, not one shared module: training one expert leaves the others
    with torch.no_grad():
        neck.expert_stages[0][0].conv1.weight.add_(1)
    assert not torch.equal(neck.expert_stages[0][0].conv1.weight,
                           neck.expert_stages[1][0].conv1.weight)


def test_expert_pretrained_reads_torchvision_style_checkpoints(tmp_path):
    checkpoint = tmp_path / 'plain.pth'
    pretrained = _save_resnet50_checkpoint(tmp_path / 'mm.pth', seed=1)
    torch.save(pretrained.state_dict(), str(checkpoint))
    neck = DKFNeck(
        in_channels=TINY_WIDTHS,
        expert_stage=TINY_BOTTLENECK_STAGE,
        expert_pretrained=dict(checkpoint=str(checkpoint), prefix='layer4.'))
    neck.init_weights()
    torch.testing.assert_close(neck.expert_stages[2][2].bn3.running_var,
                               pretrained.layer4[2].bn3.running_var)


def test_expert_pretrained_rejects_wrong_prefix_and_shapes(tmp_path):
    checkpoint = tmp_path / 'tiny_resnet50.pth'
    _save_resnet50_checkpoint(checkpoint)
    with pytest.raises(KeyError, match='layer5'):
        DKFNeck(
            in_channels=TINY_WIDTHS,
            expert_stage=TINY_BOTTLENECK_STAGE,
            expert_pretrained=dict(
                checkpoint=str(checkpoint),
                prefix='backbone.layer5.')).init_weights()
    with pytest.raises(RuntimeError, match='size mismatch'):
        DKFNeck(
            in_channels=TINY_WIDTHS,
            expert_stage=dict(TINY_BOTTLENECK_STAGE, out_channels=128),
            expert_pretrained=dict(
                checkpoint=str(checkpoint),
                prefix='backbone.layer4.')).init_weights()
    with pytest.raises(ValueError, match='checkpoint and a prefix'):
        DKFNeck(expert_pretrained=dict(checkpoint=str(checkpoint)))
    with pytest.raises(ValueError, match='odd'):
        DKFNeck(aligner_kernel_size=2)
