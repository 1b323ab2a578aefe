"""ExpertAdaptFormerModel: SHIKE's experts as adapter sets on one frozen
ViT. One expert without fusion, distillation or stage 2 is exactly the
LIFT model; every expert computes LIFT's model with its own adapters in the
last blocks (the float64 reference in ``tests/models/lift_reference.py``);
training moves only adapters, gates and classifiers; DDP gives the same
gradients."""
import copy

import pytest
import torch
import torch.distributed as torch_dist
from helpers import randomise
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from shike_mm.models.peft import (AdaptFormerLayer, ExpertAdaptFormerLayer,
                                  ExpertAdaptFormerModel, FanOut,
                                  spread_depths)

EMBED_DIMS, NUM_LAYERS, NUM_HEADS, PATCH, IMAGE = 32, 3, 4, 8, 32
NUM_CLASSES = 7
COUNTS = torch.tensor([50., 20., 9., 7., 4., 2., 1.])
TOL = dict(rtol=1e-10, atol=1e-10)


def clip_vit(**kwargs):
    """MMPretrain's VisionTransformer set up as CLIP's vision tower."""
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
        final_norm=True,
        out_type='cls_token',
        norm_cfg=dict(type='LN', eps=1e-5),
        layer_cfgs=dict(act_cfg=dict(type='QuickGELU')))
    vit.update(kwargs)
    return vit


def experts_backbone(num_experts=3, expert_layers=2, **kwargs):
    return dict(
        type='ExpertAdaptFormerModel',
        module=dict(type='PretrainedBase', module=clip_vit()),
        bottleneck_dims=4,
        num_experts=num_experts,
        expert_layers=expert_layers,
        **kwargs)


def shike_head(num_experts, **kwargs):
    head = dict(
        type='SHIKEHead',
        num_classes=NUM_CLASSES,
        in_channels=EMBED_DIMS,
        num_experts=num_experts,
        scale=25.0,
        ce_loss=dict(type='LogitAdjustedLoss', tau=1.0),
        dkt_loss=dict(
            type='DKTLoss', loss_weight=10 / 100, reduction='batchmean'),
        mkd_loss=dict(
            type='MutualKDLoss', loss_weight=1 / 100, reduction='batchmean'),
        bal_loss=dict(type='BalancedSoftmaxLoss'))
    head.update(kwargs)
    return head


def lift_equivalent_shike(expert_layers=2):
    """One expert, no fusion (no neck), no DKT/MKD, no stage 2."""
    return dict(
        type='ImageClassifier',
        backbone=experts_backbone(1, expert_layers),
        head=shike_head(1, dkt_loss=None, mkd_loss=None, bal_loss=None))


def lift_model():
    return dict(
        type='ImageClassifier',
        backbone=dict(
            type='AdaptFormerModel',
            module=dict(type='PretrainedBase', module=clip_vit()),
            bottleneck_dims=4),
        head=dict(
            type='CosineClsHead',
            num_classes=NUM_CLASSES,
            in_channels=EMBED_DIMS,
            scale=25.0,
            loss=dict(type='LogitAdjustedLoss', tau=1.0)))


def full_shike(num_experts=3, expert_layers=2, shallow_depths=(1, )):
    return dict(
        type='ImageClassifier',
        backbone=experts_backbone(
            num_experts,
            expert_layers,
            fusion=dict(shallow_depths=shallow_depths)),
        head=shike_head(num_experts))


def build(cfg, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(cfg)


def vit_of(model):
    return model.backbone.module.module


def unwrapped_layers(model):
    """The blocks' wrappers, without the FanOut of the first expert
    block."""
    return [
        layer.layer if isinstance(layer, FanOut) else layer
        for layer in vit_of(model).layers
    ]


def expert_adapters(model, expert):
    """The AdaptFormer of every block on expert ``expert``'s path."""
    return [
        layer.adapters[expert]
        if isinstance(layer, ExpertAdaptFormerLayer) else layer.adapter
        for layer in unwrapped_layers(model)
    ]


def batch(seed=1, size=5):
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(
        size, 3, IMAGE, IMAGE, generator=generator, dtype=torch.float64)
    labels = torch.tensor([0, 3, 6, 2, 6])[:size]
    samples = [DataSample().set_gt_label(int(label)) for label in labels]
    return images, labels, samples


def adapter_pairs(adapter, ref):
    pairs = [(adapter.ln.weight, ref['ln_weight']),
             (adapter.ln.bias, ref['ln_bias']),
             (adapter.down.weight, ref['down_weight']),
             (adapter.down.bias, ref['down_bias']),
             (adapter.up.weight, ref['up_weight']),
             (adapter.up.bias, ref['up_bias']), (adapter.scale, ref['scale'])]
    return pairs


def test_one_expert_is_exactly_the_lift_model(lift_reference):
    """M = 1, no fusion, no DKT/MKD, no stage 2: the same initial weights
    as the LIFT model under one seed, and, on random float64 weights with
    nonzero adapters, LIFT's features, logits, loss and gradients (the
    float64 reference and our LIFT model agree to 1e-10)."""
    shike, lift = build(lift_equivalent_shike()), build(lift_model())
    assert [type(layer) for layer in vit_of(shike).layers
            ] == [AdaptFormerLayer, FanOut, ExpertAdaptFormerLayer]
    assert [type(layer) for layer in unwrapped_layers(shike)] == [
        AdaptFormerLayer, ExpertAdaptFormerLayer, ExpertAdaptFormerLayer
    ]
    ours, theirs = list(shike.parameters()), list(lift.parameters())
    assert len(ours) == len(theirs)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    assert len(shike.state_dict()) == len(lift.state_dict()) + 1  # stage

    randomise(shike)
    randomise(lift)
    for model in (shike, lift):
        model.head.set_class_counts(COUNTS)
    images, labels, samples = batch()
    p = lift_reference.params_of(
        vit_of(shike), shike.head.classifiers[0].weight,
        expert_adapters(shike, 0))
    ref_features = lift_reference.vision_features(p, images, PATCH, NUM_HEADS)
    ref_logits = lift_reference.cosine_logits(ref_features, p['head'], 25.0)
    ref_loss = lift_reference.logit_adjusted_loss(ref_logits, labels, COUNTS)
    ref_loss.backward()

    results = []
    for model in (shike, lift):
        (features, ) = model.extract_feat(images)
        logits = model(images, mode='tensor')
        losses = model.loss(images, samples)
        loss, _ = model.parse_losses(losses)
        loss.backward()
        results.append((features, logits, loss))
        torch.testing.assert_close(features, ref_features, **TOL)
        torch.testing.assert_close(logits, ref_logits, **TOL)
        torch.testing.assert_close(loss, ref_loss, **TOL)
    assert set(shike.loss(images, samples)) == {'loss_la'}
    for ours, theirs in zip(*results):
        torch.testing.assert_close(ours, theirs, rtol=1e-13, atol=1e-13)

    torch.testing.assert_close(shike.head.classifiers[0].weight.grad,
                               p['head'].grad, **TOL)
    lift_adapters = [layer.adapter for layer in vit_of(lift).layers]
    checked = 1
    for adapter, lift_adapter, block in zip(
            expert_adapters(shike, 0), lift_adapters, p['blocks']):
        for (ours, ref), (theirs, _) in zip(
                adapter_pairs(adapter, block['adapter']),
                adapter_pairs(lift_adapter, block['adapter'])):
            assert ours.grad.abs().sum() > 0
            torch.testing.assert_close(ours.grad, ref.grad, **TOL)
            torch.testing.assert_close(ours.grad, theirs.grad, **TOL)
            checked += 1
    assert checked == 7 * NUM_LAYERS + 1


def test_every_expert_is_lift_with_its_own_last_adapters(lift_reference):
    """Three experts owning the last two blocks: expert m's class token is
    LIFT's with the trunk's adapters and expert m's own; with fusion, it is
    gated by the trunk's class token after block 1; an expert's loss
    reaches its own adapters and the trunk's, no other expert's."""
    model = randomise(build(full_shike()))
    images = batch()[0]
    experts = model.backbone.module(images)[-1].chunk(3)
    fused = model.backbone(images)
    assert len(experts) == len(fused) == 3
    for m, feature in enumerate(experts):
        p = lift_reference.params_of(
            vit_of(model), torch.zeros(1, EMBED_DIMS),
            expert_adapters(model, m))
        torch.testing.assert_close(
            feature, lift_reference.vision_features(p, images, PATCH,
                                                    NUM_HEADS), **TOL)
    # the residual stream after block 1, by the reference's own pieces
    tokens = torch.nn.functional.conv2d(images, p['conv1'], stride=PATCH)
    tokens = tokens.flatten(2).transpose(1, 2)
    x = torch.cat([p['class_embedding'].expand(5, 1, -1), tokens], dim=1)
    x = lift_reference.layer_norm(x + p['positional_embedding'], *p['ln_pre'])
    shallow = lift_reference.block_forward(x, p['blocks'][0], NUM_HEADS)[:, 0]
    for m, (feature,
            gate) in enumerate(zip(fused, model.backbone.fusion.gates)):
        g = dict(
            ln_weight=gate.ln.weight,
            ln_bias=gate.ln.bias,
            down_weight=gate.down.weight,
            down_bias=gate.down.bias,
            up_weight=gate.up.weight,
            up_bias=gate.up.bias,
            scale=gate.scale)
        torch.testing.assert_close(
            feature, experts[m] * (1 + lift_reference.adaptformer(shallow, g)),
            **TOL)

    fused[1].pow(2).sum().backward()
    layers = unwrapped_layers(model)
    assert layers[0].adapter.down.weight.grad.abs().sum() > 0
    for layer in layers[1:]:
        grads = [a.down.weight.grad for a in layer.adapters]
        assert grads[1].abs().sum() > 0
        assert not grads[0].any() and not grads[2].any()


def test_experts_share_the_frozen_blocks_and_checkpoints_hold_what_trains():
    model = build(full_shike())
    assert isinstance(model.backbone, ExpertAdaptFormerModel)
    vit = vit_of(model)
    assert vit.out_indices == [0, 2]
    plain = build(dict(type='PretrainedBase', module=clip_vit()))
    fan_out, expert_layer = vit.layers[1:]
    assert isinstance(fan_out, FanOut) and fan_out.num_experts == 3
    assert fan_out.layer.num_experts == expert_layer.num_experts == 3
    assert fan_out.layer.layer is not expert_layer.layer
    frozen = [p for p in model.parameters() if not p.requires_grad]
    assert sum(p.numel() for p in frozen) == sum(p.numel()
                                                 for p in plain.parameters())
    adapter = 2 * EMBED_DIMS + EMBED_DIMS * 4 + 4 + 4 * EMBED_DIMS \
        + EMBED_DIMS + 1
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    # 1 trunk block + 3 experts x 2 blocks, 3 gates, 2 x 3 classifiers
    assert sum(p.numel() for p in trainable.values()) == \
        (1 + 3 * 2) * adapter + 3 * adapter + 6 * NUM_CLASSES * EMBED_DIMS
    assert set(model.state_dict()) == set(trainable) | {'head.stage'}
    # adapters and gates start at zero: every expert starts as plain CLIP
    images = batch()[0].float()
    experts = model.backbone(images)
    clip = plain(images)[-1]
    for feature in experts:
        torch.testing.assert_close(feature, clip, rtol=1e-5, atol=1e-5)


def _train_steps(model, steps=2):
    model.head.set_class_counts(COUNTS)
    optim_wrapper = build_optim_wrapper(
        model,
        dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD', lr=0.5, momentum=0.9, weight_decay=5e-4)))
    images, _, samples = batch()
    model.train()
    for _ in range(steps):
        model.train_step(
            dict(inputs=list(images.float() * 50 + 100), data_samples=samples),
            optim_wrapper)


def test_a_training_step_moves_only_adapters_gates_and_classifiers():
    model = build(full_shike())
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    frozen_before = {
        n: t.detach().clone()
        for n, t in model.backbone.module.named_base_tensors()
    }
    _train_steps(model)
    moved = {
        n
        for n, p in model.named_parameters() if not torch.equal(p, before[n])
    }
    stage1 = {
        n
        for n, p in model.named_parameters()
        if p.requires_grad and not n.startswith('head.retrain_classifiers')
    }
    assert moved == stage1
    assert all('.adapter' in n or n.startswith(('backbone.fusion.gates.',
                                                'head.classifiers.'))
               for n in moved)
    for name, tensor in model.backbone.module.named_base_tensors():
        assert torch.equal(tensor, frozen_before[name]), name


@pytest.fixture
def process_group(free_port):
    """A one-process gloo group, enough to build DDP."""
    torch_dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{free_port}',
        rank=0,
        world_size=1)
    yield
    torch_dist.destroy_process_group()


def test_under_ddp_the_gradients_are_exact(process_group):
    """DDP registers the shared frozen blocks once and the stage-2
    classifiers as unused: the experts' gradients are the plain model's."""
    model = randomise(build(full_shike()))
    model.head.set_class_counts(COUNTS)
    reference = copy.deepcopy(model)
    ddp = MMDistributedDataParallel(module=model, find_unused_parameters=True)
    images, _, samples = batch()
    for net, module in ((ddp, model), (reference, reference)):
        loss, _ = module.parse_losses(net(images, samples, mode='loss'))
        loss.backward()
    checked = 0
    for (name, param), expected in zip(model.named_parameters(),
                                       reference.parameters()):
        if expected.grad is None:
            assert param.grad is None, name
            continue
        torch.testing.assert_close(
            param.grad, expected.grad, rtol=1e-12, atol=1e-14, msg=name)
        checked += 1
    # 7 adapters of 7 parameters, 3 gates of 7, 3 classifiers
    assert checked == 7 * 7 + 3 * 7 + 3


def _ddp_rank_gradients(rank, port, out_dir):
    """One of two gloo processes: its half of the batch through DDP; the
    gradients DDP leaves (averaged over both) go to ``out_dir``."""
    init_default_scope('mmpretrain')
    torch_dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    try:
        model = randomise(build(full_shike()))
        model.head.set_class_counts(COUNTS)
        ddp = MMDistributedDataParallel(
            module=model, find_unused_parameters=True)
        images, _, samples = batch(size=4)
        half = slice(2 * rank, 2 * rank + 2)
        loss, _ = model.parse_losses(
            ddp(images[half], samples[half], mode='loss'))
        loss.backward()
        torch.save(
            {
                name: param.grad
                for name, param in model.named_parameters()
                if param.grad is not None
            }, f'{out_dir}/rank{rank}.pth')
    finally:
        torch_dist.destroy_process_group()


def test_two_processes_average_the_gradients_of_their_halves(
        tmp_path, free_port):
    """Two DDP processes on two halves of a batch leave, on both ranks, the
    mean of the plain model's gradients on each half."""
    torch.multiprocessing.spawn(
        _ddp_rank_gradients, args=(free_port, str(tmp_path)), nprocs=2)
    model = randomise(build(full_shike()))
    model.head.set_class_counts(COUNTS)
    images, _, samples = batch(size=4)
    expected = {}
    for half in (slice(0, 2), slice(2, 4)):
        model.zero_grad()
        loss, _ = model.parse_losses(
            model(images[half], samples[half], mode='loss'))
        loss.backward()
        for name, param in model.named_parameters():
            if param.grad is not None:
                expected[name] = expected.get(name, 0) + param.grad / 2
    for rank in (0, 1):
        grads = torch.load(tmp_path / f'rank{rank}.pth', weights_only=True)
        assert grads.keys() == expected.keys()
        for name, grad in expected.items():
            torch.testing.assert_close(
                grads[name], grad, rtol=1e-12, atol=1e-14, msg=name)
    # 7 adapters of 7 parameters, 3 gates of 7, 3 classifiers
    assert len(expected) == 7 * 7 + 3 * 7 + 3


@pytest.mark.parametrize('kwargs, message', [
    (dict(expert_layers=0), r'expert_layers=0: the experts own the last k '
     r'blocks, 1 <= k <= 3'),
    (dict(expert_layers=4), r'1 <= k <= 3'),
    (dict(num_experts=0), r'num_experts must be an integer >= 1, got 0'),
    (dict(layer_indices=[0, 1]), r'the expert blocks \[2\] \(the last '
     r'expert_layers=2\) have no adapters'),
    (dict(fusion=dict(shallow_depths=(2, ))),
     r'fusion.shallow_depths=\(2,\): give increasing depths of the shared '
     r'trunk, each 1 <= d <= 1'),
    (dict(expert_layers=1, fusion=dict(shallow_depths=(2, 1))), r'increasing'),
    (dict(fusion=dict(shallow_depths=())), r'increasing'),
    (dict(fusion=dict(depths=(1, ))), r"it takes shallow_depths, "
     r"bottleneck_dims, scale; unknown keys: \['depths'\]"),
])
def test_bad_settings_are_refused(kwargs, message):
    cfg = experts_backbone(**{'num_experts': 3, 'expert_layers': 2, **kwargs})
    with pytest.raises(ValueError, match=message):
        build(cfg)


@pytest.mark.parametrize('vit, message', [
    (dict(out_type='avg_featmap'), "set the module's out_type='cls_token'"),
    (dict(out_indices=(0, 2)), 'leave out_indices at its default -1'),
])
def test_vit_settings_it_cannot_honour_are_refused(vit, message):
    cfg = experts_backbone()
    cfg['module']['module'] = clip_vit(**vit)
    with pytest.raises(ValueError, match=message):
        build(cfg)


def test_default_depths_spread_over_the_trunk():
    assert spread_depths(10, 3) == (3, 7, 10)  # ViT-B/16, k = 2
    assert spread_depths(11, 3) == (4, 7, 11)
    assert spread_depths(8, 4) == (2, 4, 6, 8)
    assert spread_depths(1, 3) == (1, )
    model = build(
        dict(
            type='ImageClassifier',
            backbone=experts_backbone(
                4, 1, fusion=dict(shallow_depths=None, scale=0.5))))
    fusion = model.backbone.fusion
    assert fusion.shallow_depths == (1, 2)
    assert [fusion.source_of(m) for m in range(4)] == [1, 2, 1, 2]
    assert [gate.scale for gate in fusion.gates] == [0.5] * 4
    assert fusion.gates[0].down.out_features == 4  # the adapters' width
    assert vit_of(model).out_indices == [0, 1, 2]
