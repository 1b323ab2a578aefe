"""PretrainedBase: strict loading of base weights when the model is built,
frozen weights left out of state dicts (and filled back in when a
trainable-only state dict loads), their content hash, and one clear error
for every base checkpoint that does not fit."""
import copy

import pytest
import torch
from mmpretrain.registry import MODELS

from shike_mm.engine.run_checks import load_checkpoint_checked
from shike_mm.models.peft import (PretrainedBase, base_weights_of,
                                  base_weights_problems, state_dict_sha256)
from shike_mm.utils.checkpoint import CheckpointMismatchError

ARCH = dict(act='quick_gelu', ln_eps=1e-5)


def clip_vit(num_layers=2, patch_size=8, eps=1e-5, act='QuickGELU'):
    return dict(
        type='VisionTransformer',
        arch=dict(
            embed_dims=16,
            num_layers=num_layers,
            num_heads=2,
            feedforward_channels=32),
        img_size=32,
        patch_size=patch_size,
        pre_norm=True,
        out_type='cls_token',
        norm_cfg=dict(type='LN', eps=eps),
        layer_cfgs=dict(act_cfg=dict(type=act)))


def write_base(path, seed=0, extra=None, arch=ARCH, **vit):
    """A base checkpoint of a random CLIP-like ViT under ``backbone.``."""
    torch.manual_seed(seed)
    weights = MODELS.build(clip_vit(**vit)).state_dict()
    state = {f'backbone.{k}': v.half() for k, v in weights.items()}
    state.update(extra or {})
    torch.save(dict(state_dict=state, meta=dict(clip_arch=arch)), path)
    return {k: v.half() for k, v in weights.items()}


def base(path, **kwargs):
    return dict(
        type='PretrainedBase',
        module=clip_vit(**kwargs.pop('vit', {})),
        checkpoint=str(path),
        **kwargs)


def test_loads_the_checkpoint_when_built_and_records_its_hash(tmp_path):
    weights = write_base(tmp_path / 'base.pth')
    model = MODELS.build(base(tmp_path / 'base.pth'))
    for name, tensor in model.module.state_dict().items():
        assert torch.equal(tensor, weights[name].float()), name
    assert model.base_weights == dict(
        checkpoint=str(tmp_path / 'base.pth'),
        sha256=state_dict_sha256(weights))
    assert not any(p.requires_grad for p in model.parameters())
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    model.init_weights()  # what the Runner does before training
    after = model.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_hash_names_the_weights_not_the_file(tmp_path):
    weights = write_base(tmp_path / 'base.pth')
    digest = state_dict_sha256(weights)
    assert digest == state_dict_sha256(dict(reversed(weights.items())))
    changed = dict(weights)
    key = next(iter(changed))
    changed[key] = changed[key].clone()
    changed[key].view(-1)[0] += 1
    assert state_dict_sha256(changed) != digest
    assert state_dict_sha256({
        k: v.float()
        for k, v in weights.items()
    }) != digest


def test_frozen_weights_stay_out_of_state_dicts_and_fill_back_in(tmp_path):
    write_base(tmp_path / 'base.pth')
    config = dict(
        type='AdaptFormerModel',
        module=base(tmp_path / 'base.pth'),
        bottleneck_dims=2)
    torch.manual_seed(1)
    model = MODELS.build(config)
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.normal_()
    saved = model.state_dict()
    assert saved and all('.adapter.' in key for key in saved)
    assert set(saved) == {
        n
        for n, p in model.named_parameters() if p.requires_grad
    }

    torch.manual_seed(2)
    fresh = MODELS.build(config)
    fresh.load_state_dict(saved, strict=True)
    images = torch.randn(2, 3, 32, 32)
    assert torch.equal(fresh(images)[0], model(images)[0])
    # A copy (an EMA model) and a converted model keep the rule.
    assert set(copy.deepcopy(model).state_dict()) == set(saved)
    assert set(model.double().state_dict()) == set(saved)


def test_full_fine_tuning_keeps_and_trains_the_base(tmp_path):
    write_base(tmp_path / 'base.pth')
    model = MODELS.build(base(tmp_path / 'base.pth', frozen=False))
    assert all(p.requires_grad for p in model.parameters())
    assert set(model.state_dict()) == {
        f'module.{k}'
        for k in model.module.state_dict()
    }


def test_lora_model_wraps_it_in_the_same_config(tmp_path):
    weights = write_base(tmp_path / 'base.pth')
    model = MODELS.build(
        dict(
            type='LoRAModel',
            module=base(tmp_path / 'base.pth'),
            alpha=1,
            rank=2,
            targets=[dict(type='qkv')]))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all('.lora_' in n for n in trainable)
    assert set(model.state_dict()) == set(trainable)
    qkv = model.module.module.layers[0].attn.qkv.original_layer.weight
    assert torch.equal(qkv, weights['layers.0.attn.qkv.weight'].float())
    assert base_weights_of(model)['module']['sha256'] == state_dict_sha256(
        weights)


def test_without_checkpoint_the_module_keeps_its_random_weights():
    model = MODELS.build(dict(type='PretrainedBase', module=clip_vit()))
    assert model.base_weights == dict(checkpoint=None, sha256=None)


@pytest.mark.parametrize('file_vit, model_vit, message', [
    (dict(patch_size=4), {}, r'patch size 4 and width 16 in the '
     r'checkpoint .*patch size 8 and width 16 in the model'),
    (dict(num_layers=3), {}, '3 blocks in the checkpoint, 2 in the model'),
    ({}, dict(eps=1e-6), 'LayerNorm eps 1e-05, the model uses 1e-06'),
    ({}, dict(act='GELU'), 'trained with quick_gelu in the MLPs, the '
     'model uses GELU'),
])
def test_a_base_of_another_architecture_is_refused(tmp_path, file_vit,
                                                   model_vit, message):
    write_base(tmp_path / 'base.pth', **file_vit)
    with pytest.raises(CheckpointMismatchError, match=message) as error:
        MODELS.build(base(tmp_path / 'base.pth', vit=model_vit))
    assert str(tmp_path / 'base.pth') in str(error.value)


def test_missing_keys_and_other_prefixes_are_refused(tmp_path):
    weights = write_base(tmp_path / 'base.pth')
    state = {f'backbone.{k}': v for k, v in weights.items()}
    del state['backbone.layers.1.ln2.bias']
    torch.save(dict(state_dict=state), tmp_path / 'missing.pth')
    with pytest.raises(
            CheckpointMismatchError,
            match=r'1 missing keys \(layers.1.ln2.bias\)'):
        MODELS.build(base(tmp_path / 'missing.pth'))
    torch.save(
        dict(state_dict={
            f'visual.{k}': v
            for k, v in weights.items()
        }), tmp_path / 'visual.pth')
    with pytest.raises(
            CheckpointMismatchError, match="no keys under 'backbone.'"):
        MODELS.build(base(tmp_path / 'visual.pth'))


def test_weights_fine_tuned_on_imagenet_are_recognised(tmp_path):
    """MMPretrain's *_clip-openai-pre_3rdparty_in1k checkpoints carry the
    ImageNet-1k classifier they were fine-tuned with."""
    write_base(
        tmp_path / 'in1k.pth',
        extra={
            'head.layers.head.weight': torch.zeros(1000, 16),
            'head.layers.head.bias': torch.zeros(1000)
        })
    with pytest.raises(
            CheckpointMismatchError,
            match=r'trained classification head \(head.layers.head.weight '
            r'\(1000, 16\).*full, balanced ImageNet-1k'):
        MODELS.build(base(tmp_path / 'in1k.pth'))


def test_checkpoints_of_other_base_weights_are_refused(tmp_path):
    write_base(tmp_path / 'a.pth', seed=0)
    write_base(tmp_path / 'b.pth', seed=1)
    model_a = MODELS.build(base(tmp_path / 'a.pth'))
    model_b = MODELS.build(base(tmp_path / 'b.pth'))
    sha_a = model_a.base_weights['sha256']
    sha_b = model_b.base_weights['sha256']
    trained_on_a = dict(
        state_dict=model_a.state_dict(),
        meta=dict(base_weights=base_weights_of(model_a)))
    assert base_weights_problems(model_a, trained_on_a, 'ckpt') == ([], [])
    errors, _ = base_weights_problems(model_b, trained_on_a, 'ckpt')
    assert len(errors) == 1
    assert sha_a in errors[0] and sha_b in errors[0]

    torch.save(trained_on_a, tmp_path / 'trained.pth')
    with pytest.raises(CheckpointMismatchError, match=sha_a) as error:
        load_checkpoint_checked(model_b, str(tmp_path / 'trained.pth'))
    assert sha_b in str(error.value)
    load_checkpoint_checked(model_a, str(tmp_path / 'trained.pth'))

    unrecorded = dict(state_dict=model_a.state_dict())
    errors, warnings = base_weights_problems(model_a, unrecorded, 'old')
    assert not errors and 'old does not record the base weights' in \
        warnings[0]


def test_init_cfg_is_refused():
    with pytest.raises(ValueError, match='takes no init_cfg'):
        PretrainedBase(
            module=clip_vit(),
            init_cfg=dict(type='Pretrained', checkpoint='x.pth'))
