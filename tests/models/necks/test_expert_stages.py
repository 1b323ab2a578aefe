"""The ConvNeXt, Swin and ViT expert stages: a trunk built without the last
stage followed by one expert computes the same function as the whole
MMPretrain backbone once the weights are shared."""
import pytest
import torch
from mmpretrain.models.backbones import (ConvNeXt, SwinTransformer,
                                         VisionTransformer)

from shike_mm.models.necks import (ConvNeXtExpertStage, DKFNeck,
                                   SwinExpertStage, ViTExpertStage)


def _load_split(full_state, trunk, expert, expert_keys, trunk_only=()):
    """Load ``full_state`` into ``trunk`` and ``expert``; ``expert_keys``
    maps each expert key to its key in the whole backbone. ``trunk_only``
    lists trunk keys the whole backbone lacks (norms of extra outputs)."""
    trunk_state = trunk.state_dict()
    missing = set(trunk_state) - set(full_state)
    assert missing == set(trunk_only), missing
    trunk.load_state_dict(
        {k: full_state[k]
         for k in trunk_state if k not in missing},
        strict=False)
    expert.load_state_dict(
        {key: full_state[expert_keys(key)]
         for key in expert.state_dict()})


def _randomise(module, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.normal_(0, 0.2)


def _eval(*modules):
    # MMPretrain backbones override train() without returning self
    for module in modules:
        module.eval()


def test_convnext_trunk_plus_expert_is_the_whole_convnext():
    arch = dict(depths=[1, 1, 1, 2], channels=[8, 16, 32, 64])
    full = ConvNeXt(arch=arch, out_indices=(3, ), gap_before_final_norm=False)
    trunk = ConvNeXt(
        arch=dict(depths=[1, 1, 1], channels=[8, 16, 32]),
        out_indices=(0, 1, 2),
        gap_before_final_norm=False)
    expert = ConvNeXtExpertStage(in_channels=32, out_channels=64, depth=2)
    _eval(full, trunk, expert)
    _randomise(full)

    def full_key(key):
        if key.startswith('downsample.'):  # the conv after the stage-3 LN
            return key.replace('downsample.', 'downsample_layers.3.1.')
        if key.startswith('blocks.'):
            return key.replace('blocks.', 'stages.3.')
        return key.replace('norm.', 'norm3.')

    full_state = full.state_dict()
    # the trunk's output LN of stage 3 is the LN that opens stage 4
    full_state['norm2.weight'] = full_state['downsample_layers.3.0.weight']
    full_state['norm2.bias'] = full_state['downsample_layers.3.0.bias']
    _load_split(
        full_state,
        trunk,
        expert,
        full_key,
        trunk_only=('norm0.weight', 'norm0.bias', 'norm1.weight',
                    'norm1.bias'))

    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(expert(trunk(images)[-1]), full(images)[0])
    assert expert(torch.randn(1, 32, 5, 5)).shape == (1, 64, 2, 2)


def test_swin_trunk_plus_expert_is_the_whole_swin():
    common = dict(img_size=64, window_size=2, patch_size=4)
    full = SwinTransformer(
        arch=dict(embed_dims=8, depths=[1, 1, 1, 2], num_heads=[1, 1, 2, 4]),
        out_indices=(3, ),
        **common)
    trunk = SwinTransformer(
        arch=dict(embed_dims=8, depths=[1, 1, 1], num_heads=[1, 1, 2]),
        out_indices=(0, 1, 2),
        norm_cfg=None,
        **common)
    expert = SwinExpertStage(
        in_channels=32, out_channels=64, depth=2, num_heads=4, window_size=2)
    _eval(full, trunk, expert)
    _randomise(full)

    def full_key(key):
        if key.startswith('downsample.'):  # closes stage 3 in Swin
            return key.replace('downsample.', 'stages.2.downsample.')
        if key.startswith('blocks.'):
            return key.replace('blocks.', 'stages.3.', 1)
        return key.replace('norm.', 'norm3.')

    _load_split(full.state_dict(), trunk, expert, full_key)
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        shallow = trunk(images)
        torch.testing.assert_close(expert(shallow[-1]), full(images)[0])
    assert [tuple(m.shape[1:]) for m in shallow] == [(8, 16, 16), (16, 8, 8),
                                                     (32, 4, 4)]


def test_vit_trunk_plus_expert_is_the_whole_vit():
    arch = dict(embed_dims=16, num_heads=2, feedforward_channels=32)
    common = dict(
        img_size=32, patch_size=8, with_cls_token=False, out_type='featmap')
    full = VisionTransformer(
        arch=dict(arch, num_layers=4), final_norm=True, **common)
    trunk = VisionTransformer(
        arch=dict(arch, num_layers=3), final_norm=False, **common)
    expert = ViTExpertStage(
        in_channels=16, num_layers=1, num_heads=2, feedforward_channels=32)
    _eval(full, trunk, expert)
    _randomise(full)

    def full_key(key):
        if key.startswith('layers.'):
            return key.replace('layers.0.', 'layers.3.', 1)
        return key.replace('norm.', 'ln1.')

    _load_split(full.state_dict(), trunk, expert, full_key)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(expert(trunk(images)[-1]), full(images)[0])


@pytest.mark.parametrize('stage_cfg, fuse', [
    (dict(type='ConvNeXtExpertStage', out_channels=64, depth=1), True),
    (dict(
        type='SwinExpertStage',
        out_channels=64,
        depth=1,
        num_heads=2,
        window_size=2), True),
    (dict(
        type='ViTExpertStage',
        num_layers=1,
        num_heads=2,
        feedforward_channels=64), False),
])
def test_dkf_neck_builds_registered_expert_stages(stage_cfg, fuse):
    in_channels = (8, 16, 32) if fuse else (32, )
    neck = DKFNeck(
        in_channels=in_channels,
        num_experts=2,
        expert_stage=stage_cfg,
        fuse=fuse,
        expert_init_cfg=None)
    neck.init_weights()
    assert neck.expert_stages[0] is not neck.expert_stages[1]
    sizes = (16, 8, 4) if fuse else (4, )
    inputs = tuple(torch.randn(2, c, s, s) for c, s in zip(in_channels, sizes))
    feats = neck(inputs)
    assert len(feats) == 2
    assert all(f.shape == (2, neck.out_channels) for f in feats)


def test_drop_path_rates_are_per_block_and_checked():
    expert = ConvNeXtExpertStage(
        in_channels=8, out_channels=16, depth=2, drop_path_rate=[0.1, 0.2])
    assert [block.drop_path.drop_prob for block in expert.blocks] == [0.1, 0.2]
    with pytest.raises(ValueError, match='2 drop-path rates'):
        ViTExpertStage(
            in_channels=8,
            num_layers=2,
            num_heads=1,
            feedforward_channels=8,
            drop_path_rate=[0.1])
