"""ExpertLoRAModel: SHIKE's experts as LoRA sets. One expert is
MMPretrain's LoRAModel on the same layers; every expert computes LoRAModel
with its own updates in the last blocks; only the updates and the gates
train."""

import pytest
import torch
from mmpretrain.registry import MODELS

from shike_mm.models.peft import ExpertLoRALinear, FanOut

EMBED_DIMS, NUM_LAYERS, NUM_HEADS, PATCH, IMAGE = 32, 3, 4, 8, 32
RANK = 4


def clip_vit(**kwargs):
    vit = dict(
        type='VisionTransformer',
        arch=dict(
            embed_dims=EMBED_DIMS,
            num_layers=NUM_LAYERS,
            num_heads=NUM_HEADS,
            feedforward_channels=4 * EMBED_DIMS),
        img_size=IMAGE,
        patch_size=PATCH,
        pre_norm=True,
        out_type='cls_token',
        norm_cfg=dict(type='LN', eps=1e-5),
        layer_cfgs=dict(act_cfg=dict(type='QuickGELU')))
    vit.update(kwargs)
    return dict(type='PretrainedBase', module=vit)


def experts(num_experts=3, **kwargs):
    cfg = dict(
        type='ExpertLoRAModel',
        module=clip_vit(),
        num_experts=num_experts,
        expert_layers=2,
        rank=RANK,
        alpha=2)
    cfg.update(kwargs)
    return cfg


def lora_model():
    return dict(
        type='LoRAModel',
        module=clip_vit(),
        alpha=2,
        rank=RANK,
        targets=[dict(type='qkv')])


def build(cfg, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(cfg).double()


def randomise(model, seed=0, trainable_only=False):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            if trainable_only and not param.requires_grad:
                continue
            param.copy_(0.3 * torch.randn(
                param.shape, generator=generator, dtype=param.dtype))
    return model


def images():
    generator = torch.Generator().manual_seed(1)
    return torch.randn(
        4, 3, IMAGE, IMAGE, generator=generator, dtype=torch.float64)


def qkv_updates(model):
    """Per block, the qkv LoRALinear or ExpertLoRALinear."""
    vit = model.module.module
    return [(layer.layer if isinstance(layer, FanOut) else layer).attn.qkv
            for layer in vit.layers]


def test_one_expert_is_mmpretrains_lora_model():
    ours, theirs = build(experts(1)), build(lora_model())
    a, b = list(ours.parameters()), list(theirs.parameters())
    assert len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))
    randomise(ours)
    randomise(theirs)
    x = images()
    (feature, ) = ours(x)
    expected = theirs(x)[-1]
    torch.testing.assert_close(feature, expected, rtol=1e-12, atol=1e-12)
    feature.pow(2).sum().backward()
    expected.pow(2).sum().backward()
    trained = [(n, p) for n, p in ours.named_parameters() if p.requires_grad]
    reference = [p for p in theirs.parameters() if p.requires_grad]
    assert len(trained) == len(reference) == 2 * NUM_LAYERS
    for (name, param), other in zip(trained, reference):
        assert param.grad.abs().sum() > 0, name
        torch.testing.assert_close(
            param.grad, other.grad, rtol=1e-12, atol=1e-12, msg=name)


def test_every_expert_is_lora_model_with_its_own_last_updates():
    # nonzero updates; the base as built, which a LoRAModel built from the
    # same seed shares
    model = randomise(build(experts(3)), trainable_only=True)
    updates = qkv_updates(model)
    assert isinstance(updates[0], type(updates[1].loras[0]))
    assert [type(u) for u in updates[1:]] == [ExpertLoRALinear] * 2
    features = model(images())
    for m, feature in enumerate(features):
        reference = build(lora_model())
        with torch.no_grad():
            for ours, theirs in zip(updates, qkv_updates(reference)):
                lora = ours if not isinstance(ours, ExpertLoRALinear) \
                    else ours.loras[m]
                theirs.lora_down.weight.copy_(lora.lora_down.weight)
                theirs.lora_up.weight.copy_(lora.lora_up.weight)
        torch.testing.assert_close(
            feature, reference(images())[-1], rtol=1e-12, atol=1e-12)


def test_only_updates_and_gates_train_and_checkpoints_hold_them():
    model = build(experts(3, fusion=dict()))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == set(model.state_dict())
    lora = 2 * EMBED_DIMS * RANK + RANK * 3 * EMBED_DIMS
    gate = 2 * EMBED_DIMS + EMBED_DIMS * RANK + RANK + RANK * EMBED_DIMS \
        + EMBED_DIMS + 1
    assert model.fusion.shallow_depths == (1, )
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) \
        == (1 + 3 * 2) * (lora - EMBED_DIMS * RANK) + 3 * gate
    # the experts start equal: B = 0 everywhere, gates at 1
    first, *others = model(images())
    for feature in others:
        torch.testing.assert_close(feature, first)


def test_bad_settings_are_refused():
    with pytest.raises(
            TypeError,
            match=r"'attn.proj_drop' of block 0 is "
            r'Identity|not a Linear'):
        build(experts(targets=('attn.proj_drop', )))
    with pytest.raises(ValueError, match='needs targets'):
        build(experts(targets=()))
    with pytest.raises(ValueError, match=r'PretrainedBase\(frozen=False\)'):
        cfg = experts()
        cfg['module']['frozen'] = False
        build(cfg)
    with pytest.raises(ValueError, match='1 <= k <= 3'):
        build(experts(expert_layers=4))
