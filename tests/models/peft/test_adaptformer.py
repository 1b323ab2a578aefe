"""AdaptFormerModel on MMPretrain's VisionTransformer, configured as CLIP,
with CosineClsHead and LogitAdjustedLoss, equals LIFT's model (its float64
reference in ``tests/models/lift_reference.py``): features, logits, loss
and the gradients of every adapter and of the head."""
import copy

import pytest
import torch
import torch.nn as nn
from helpers import randomise
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from shike_mm.models.peft import (AdaptFormer, AdaptFormerLayer,
                                  AdaptFormerModel, lift_bottleneck_dims)

EMBED_DIMS, NUM_LAYERS, NUM_HEADS, PATCH, IMAGE = 32, 3, 4, 8, 32
NUM_CLASSES = 7
COUNTS = torch.tensor([50., 20., 9., 7., 4., 2., 1.])


def clip_vit(arch=None, patch_size=PATCH, img_size=IMAGE):
    """MMPretrain's VisionTransformer set up as CLIP's vision tower."""
    return dict(
        type='VisionTransformer',
        arch=arch or dict(
            embed_dims=EMBED_DIMS,
            num_layers=NUM_LAYERS,
            num_heads=NUM_HEADS,
            feedforward_channels=4 * EMBED_DIMS),
        img_size=img_size,
        patch_size=patch_size,
        pre_norm=True,
        final_norm=True,
        out_type='cls_token',
        norm_cfg=dict(type='LN', eps=1e-5),
        layer_cfgs=dict(act_cfg=dict(type='QuickGELU')))


def lift_classifier(backbone, num_classes=NUM_CLASSES, in_channels=EMBED_DIMS):
    return dict(
        type='ImageClassifier',
        backbone=backbone,
        head=dict(
            type='CosineClsHead',
            num_classes=num_classes,
            in_channels=in_channels,
            scale=25.0,
            loss=dict(type='LogitAdjustedLoss', tau=1.0)))


def adaptformer_backbone(**kwargs):
    return dict(
        type='AdaptFormerModel',
        module=dict(type='PretrainedBase', module=clip_vit()),
        bottleneck_dims=4,
        **kwargs)


def vit_of(model):
    return model.backbone.module.module


def reference_params(model, lift_reference):
    """The model's weights in CLIP's terms, detached copies; adapter and
    head copies require grad."""
    vit = vit_of(model)
    return lift_reference.params_of(vit, model.head.fc.weight, [
        layer.adapter if isinstance(layer, AdaptFormerLayer) else None
        for layer in vit.layers
    ])


def batch(seed=1, size=5):
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(
        size, 3, IMAGE, IMAGE, generator=generator, dtype=torch.float64)
    labels = torch.tensor([0, 3, 6, 2, 6])[:size]
    samples = [DataSample().set_gt_label(int(label)) for label in labels]
    return images, labels, samples


def assert_equal_to_lift(model, lift_reference):
    model.head.set_class_counts(COUNTS)
    images, labels, samples = batch()
    p = reference_params(model, lift_reference)
    ref_features = lift_reference.vision_features(p, images, PATCH, NUM_HEADS)
    ref_logits = lift_reference.cosine_logits(ref_features, p['head'], 25.0)
    ref_loss = lift_reference.logit_adjusted_loss(ref_logits, labels, COUNTS)
    ref_loss.backward()

    features = model.extract_feat(images)[-1]
    logits = model(images, mode='tensor')
    loss = model.loss(images, samples)['loss']
    loss.backward()
    tol = dict(rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(features, ref_features, **tol)
    torch.testing.assert_close(logits, ref_logits, **tol)
    torch.testing.assert_close(loss, ref_loss, **tol)

    checked = 1
    torch.testing.assert_close(model.head.fc.weight.grad, p['head'].grad,
                               **tol)
    for layer, block in zip(vit_of(model).layers, p['blocks']):
        if block['adapter'] is None:
            continue
        adapter, ref = layer.adapter, block['adapter']
        pairs = [(adapter.ln.weight, ref['ln_weight']),
                 (adapter.ln.bias, ref['ln_bias']),
                 (adapter.down.weight, ref['down_weight']),
                 (adapter.down.bias, ref['down_bias']),
                 (adapter.up.weight, ref['up_weight']),
                 (adapter.up.bias, ref['up_bias'])]
        if isinstance(adapter.scale, torch.Tensor):
            pairs.append((adapter.scale, ref['scale']))
        for ours, theirs in pairs:
            assert ours.grad is not None and ours.grad.abs().sum() > 0
            torch.testing.assert_close(ours.grad, theirs.grad, **tol)
            checked += 1
    return checked


def test_equals_lift_in_every_block(lift_reference):
    torch.manual_seed(0)
    model = randomise(MODELS.build(lift_classifier(adaptformer_backbone())))
    # every adapter parameter (7 per block) and the head
    assert assert_equal_to_lift(model, lift_reference) == 7 * NUM_LAYERS + 1


def test_equals_lift_in_the_last_blocks_with_a_fixed_scale(lift_reference):
    torch.manual_seed(0)
    model = randomise(
        MODELS.build(
            lift_classifier(adaptformer_backbone(layer_indices=2, scale=0.5))))
    layers = vit_of(model).layers
    assert not isinstance(layers[0], AdaptFormerLayer)
    assert [layer.adapter.scale for layer in layers[1:]] == [0.5, 0.5]
    assert assert_equal_to_lift(model, lift_reference) == 6 * 2 + 1


def test_adapters_start_at_zero_so_the_model_starts_as_plain_clip():
    torch.manual_seed(0)
    adapted = MODELS.build(
        dict(type='AdaptFormerModel', module=clip_vit(),
             bottleneck_dims=4)).double()
    plain = copy.deepcopy(adapted.module)
    for index, layer in enumerate(plain.layers):
        plain.layers[index] = layer.layer
    images = batch()[0]
    assert torch.equal(plain(images)[0], adapted(images)[0])
    adapter = adapted.module.layers[0].adapter
    assert adapter.scale.item() == 1.0
    assert torch.count_nonzero(adapter.up.weight) == 0
    assert torch.count_nonzero(adapter.down.weight) > 0


@pytest.mark.parametrize('num_classes, width', [(100, 4), (365, 8), (1000, 32),
                                                (8142, 256)])
def test_trainable_parameters_of_vit_b16_match_lift(num_classes, width):
    """12 x (LN 2*768 + down 768*r + r + up r*768 + 768 + scale 1) plus a
    C x 768 head, as LIFT counts its tuner and head."""
    model = MODELS.build(
        lift_classifier(
            dict(
                type='AdaptFormerModel',
                module=dict(
                    type='PretrainedBase',
                    module=clip_vit(arch='b', patch_size=16, img_size=224)),
                num_classes=num_classes),
            num_classes=num_classes,
            in_channels=768))
    assert model.backbone.bottleneck_dims == width
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    adapter = 2 * 768 + 768 * width + width + width * 768 + 768 + 1
    assert trainable == 12 * adapter + num_classes * 768


def test_lift_width_formula():
    assert [lift_bottleneck_dims(c, 12)
            for c in (10, 100, 365, 1000, 8142)] == [1, 4, 8, 32, 256]
    assert lift_bottleneck_dims(1000, 24) == 16  # ViT-L/14 on ImageNet-LT


def test_training_moves_only_adapters_and_head():
    torch.manual_seed(0)
    model = MODELS.build(lift_classifier(adaptformer_backbone()))
    model.head.set_class_counts(COUNTS)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optim_wrapper = build_optim_wrapper(
        model,
        dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD', lr=0.5, momentum=0.9, weight_decay=5e-4)))
    images, _, samples = batch()
    model.train()
    for _ in range(3):
        model.train_step(
            dict(inputs=list(images.float() * 50 + 100), data_samples=samples),
            optim_wrapper)
    moved = {
        n
        for n, p in model.named_parameters() if not torch.equal(p, before[n])
    }
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert moved == trainable
    assert all('.adapter.' in n or n.startswith('head.') for n in trainable)
    assert len(trainable) == 7 * NUM_LAYERS + 1


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match='needs bottleneck_dims, or'):
        MODELS.build(dict(type='AdaptFormerModel', module=clip_vit()))
    with pytest.raises(ValueError, match='last k blocks need 1 <= k <= 3'):
        MODELS.build(adaptformer_backbone(layer_indices=4))
    with pytest.raises(ValueError, match='block 5 does not exist'):
        MODELS.build(adaptformer_backbone(layer_indices=[0, 5]))
    with pytest.raises(ValueError, match="must be 'learnable' or a number"):
        AdaptFormer(8, 2, scale='fixed')
    with pytest.raises(ValueError, match='PretrainedBase\\(frozen=False\\)'):
        MODELS.build(
            dict(
                type='AdaptFormerModel',
                module=dict(
                    type='PretrainedBase', module=clip_vit(), frozen=False),
                bottleneck_dims=4))


def test_blocks_of_another_shape_are_refused():

    class Block(nn.Module):

        def forward(self, x):
            return x

    with pytest.raises(TypeError, match='got Block'):
        AdaptFormerLayer(Block(), AdaptFormer(8, 2))
    assert isinstance(MODELS.build(adaptformer_backbone()), AdaptFormerModel)
