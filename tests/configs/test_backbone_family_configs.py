"""SHIKE on other MMPretrain backbone families: each config builds as it is
and its model takes a training step with its own optimizer."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from shike_mm.utils import find_config

FAMILIES = {
    # config: (trunk type, expert stage type, DKF fusion, feature size,
    #          optimizer)
    'shike/shike_convnext-t_imagenet-lt.py':
    ('ConvNeXt', 'ConvNeXtExpertStage', True, 768, 'AdamW'),
    'shike/shike_regnetx-1.6gf_imagenet-lt.py':
    ('RegNet', 'ResLayer', True, 912, 'SGD'),
    'shike/shike_swin-t_imagenet-lt.py':
    ('SwinTransformer', 'SwinExpertStage', True, 768, 'AdamW'),
    'shike/shike_vit-s_imagenet-lt.py':
    ('VisionTransformer', 'ViTExpertStage', False, 384, 'AdamW'),
}


def _config(name):
    init_default_scope('mmpretrain')
    return Config.fromfile(find_config(name))


def _for_small_inputs(cfg):
    """Swin's 7x7 windows fit every map of a 224x224 input; padding small
    maps lets the tests' 64x64 inputs through."""
    if cfg.model.backbone.type == 'SwinTransformer':
        cfg.model.backbone.pad_small_map = True
        cfg.model.neck.expert_stage.pad_small_map = True
    return cfg


@pytest.mark.parametrize('name', sorted(FAMILIES))
def test_config_builds_a_shared_trunk_and_three_expert_stages(name):
    trunk_type, stage_type, fuse, channels, optimizer = FAMILIES[name]
    cfg = _config(name)
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == trunk_type
    assert [type(s).__name__ for s in model.neck.expert_stages] == \
        [stage_type] * 3
    assert model.neck.fuse is fuse
    assert (model.neck.aligners is not None) is fuse
    assert model.neck.out_channels == model.head.in_channels == channels
    assert cfg.optim_wrapper.optimizer.type == optimizer
    assert cfg.custom_hooks[0].switch_epoch == 180
    assert cfg.train_cfg.max_epochs == 200
    # the trunk stops where the experts start
    if trunk_type == 'SwinTransformer':
        model = MODELS.build(_for_small_inputs(cfg).model)
    model.eval()
    with torch.no_grad():
        shallow = model.backbone(torch.randn(1, 3, 64, 64))
        deep = model.neck.expert_stages[0](shallow[-1])
    assert shallow[-1].shape[1] == model.neck.expert_stages[0].in_channels
    assert shallow[-1].shape[-1] == 64 // 16
    if fuse:  # stride 32 after the expert stage, as the shallow maps halve
        assert deep.shape[-1] == 64 // 32
        assert [m.shape[-1] for m in shallow] == [16, 8, 4]


def test_regnet_experts_are_regnetx_1_6gf_layer4():
    from mmpretrain.models.backbones import RegNet
    model = MODELS.build(
        _config('shike/shike_regnetx-1.6gf_imagenet-lt.py').model)
    full = RegNet(arch='regnetx_1.6gf')
    expected = {k: v.shape for k, v in full.layer4.state_dict().items()}
    assert {
        k: v.shape
        for k, v in model.neck.expert_stages[0].state_dict().items()
    } == expected
    shared = {
        k: v.shape
        for k, v in full.state_dict().items() if not k.startswith('layer4')
    }
    assert {
        k: v.shape
        for k, v in model.backbone.state_dict().items()
    } == shared


@pytest.mark.parametrize('name', sorted(FAMILIES))
def test_train_step_on_two_small_images(name, small_train_batch,
                                        take_train_step):
    cfg = _for_small_inputs(_config(name))
    losses, changed = take_train_step(cfg, small_train_batch())
    assert {'loss', 'loss_ce', 'loss_dkt', 'loss_mkd'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    parts = [
        'backbone.', 'neck.expert_stages.0.', 'neck.expert_stages.2.',
        'head.classifiers.'
    ]
    if FAMILIES[name][2]:
        parts.append('neck.aligners.')
    for part in parts:
        assert any(n.startswith(part) for n in changed), part
