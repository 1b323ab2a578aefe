"""The SHIKE-on-CLIP configs are the LIFT configs of the same dataset with
SHIKE's model, losses and two stages; their schedule gives the documented
learning rates; each ablation switches off one thing; the model index
lists them."""
import math
import os.path as osp

import pytest
from helpers import REPO_ROOT, replay_lr
from mmengine.config import Config
from mmengine.fileio import load
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from shike_mm.utils import find_config

# dataset: (classes, adapter width (LIFT's formula), epochs, switch epoch)
DATASETS = {
    'imagenet-lt': (1000, 32, 10, 8),
    'places-lt': (365, 8, 10, 8),
    'inat2018': (8142, 256, 20, 16),
    'cifar100-lt-if100': (100, 4, 10, 8),
}
NUM_EXPERTS, EXPERT_LAYERS, DIMS, BLOCKS = 3, 2, 768, 12
ABLATIONS = {
    'no-dkf': {'model.backbone.fusion'},
    'no-dkt': {'model.head.dkt_loss'},
    'no-mkd': {'model.head.mkd_loss'},
    'stage1-ce': {'model.head.ce_loss'},
    'no-stage2': {
        'model.head.bal_loss', 'custom_hooks', 'param_scheduler',
        'find_unused_parameters'
    },
}
METAFILE = load(osp.join(REPO_ROOT, 'configs', 'shike', 'metafile.yml'))


def _config(name):
    init_default_scope('mmpretrain')
    return Config.fromfile(find_config(name))


def _shike(dataset, variant=''):
    return _config(f'shike/shike_clip-vit-b16_{dataset}{variant}.py')


def _lift(dataset):
    return _config(f'lift/lift_clip-vit-b16_{dataset}.py')


def _without_files(model):
    model.backbone.module.checkpoint = None
    model.head.text_weights = None
    return model


def _adapter(width, dims=DIMS):
    """LIFT's AdaptFormer: LN, down, up and the scale."""
    return 2 * dims + dims * width + width + width * dims + dims + 1


@pytest.mark.parametrize('dataset', sorted(DATASETS))
def test_lift_recipe_with_shikes_model(dataset):
    num_classes, width, epochs, switch = DATASETS[dataset]
    cfg, lift = _shike(dataset), _lift(dataset)
    backbone, head = cfg.model.backbone, cfg.model.head
    assert backbone.type == 'ExpertAdaptFormerModel'
    assert (backbone.num_experts, backbone.expert_layers) == (NUM_EXPERTS,
                                                              EXPERT_LAYERS)
    assert backbone.fusion == dict(shallow_depths=None)
    # LIFT's frozen CLIP tower, adapters and data, unchanged
    assert backbone.module == lift.model.backbone.module
    for key in ('num_classes', 'layer_indices', 'scale'):
        assert backbone[key] == lift.model.backbone[key], key
    for key in ('data_preprocessor', 'train_dataloader', 'val_dataloader',
                'test_dataloader', 'val_evaluator', 'test_evaluator',
                'crop_ensemble', 'optim_wrapper', 'auto_scale_lr'):
        assert cfg[key] == lift[key], key
    assert head == dict(
        type='SHIKEHead',
        num_classes=num_classes,
        in_channels=DIMS,
        num_experts=NUM_EXPERTS,
        scale=25.0,
        text_weights=lift.model.head.text_weights,
        retrain_from_text=True,
        ce_loss=dict(type='LogitAdjustedLoss', tau=1.0),
        dkt_loss=dict(
            type='DKTLoss', loss_weight=10 / 100, reduction='batchmean'),
        mkd_loss=dict(
            type='MutualKDLoss', loss_weight=1 / 100, reduction='batchmean'),
        bal_loss=dict(type='BalancedSoftmaxLoss', loss_weight=1.0),
        topk=(1, 5))
    assert 'effective batch 128' in open(
        find_config(f'shike/shike_clip-vit-b16_{dataset}.py')).read()

    (hook, ) = cfg.custom_hooks
    assert (hook.type, hook.switch_epoch, hook.stage2_lr_factor,
            hook.decay_frozen) == ('SHIKEStageSwitchHook', switch, 2 / 3,
                                   False)
    assert cfg.train_cfg == dict(
        by_epoch=True, max_epochs=epochs, val_interval=epochs)
    assert cfg.find_unused_parameters
    lrs = [epoch[0] for epoch in replay_lr(cfg, epoch_length=1)]
    expected = [
        0.005 * (1 + math.cos(math.pi * e / switch)) for e in range(switch)
    ] + [(2 / 3) * 0.005 * (1 + math.cos(math.pi * k / (epochs - switch)))
         for k in range(epochs - switch)]
    assert lrs == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize('dataset', sorted(DATASETS))
def test_trainable_parameters(dataset):
    """Stage 1 trains the trunk's adapters (10 blocks), each expert's (2
    blocks), the fusion gates (one per expert, the adapters' width) and the
    experts' classifiers; stage 2 only the re-training classifiers."""
    num_classes, width, _, _ = DATASETS[dataset]
    model = MODELS.build(_without_files(_shike(dataset).model))
    assert model.backbone.bottleneck_dims == width
    assert model.backbone.fusion.shallow_depths == (3, 7, 10)
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    stage2 = sum(p.numel() for p in model.head.stage2_parameters())
    classifiers = NUM_EXPERTS * num_classes * DIMS
    assert stage2 == classifiers
    adapters = (BLOCKS - EXPERT_LAYERS + NUM_EXPERTS * EXPERT_LAYERS +
                NUM_EXPERTS) * _adapter(width)
    assert sum(p.numel() for p in trainable.values()) == \
        adapters + classifiers + stage2
    assert set(model.state_dict()) == set(trainable) | {'head.stage'}


@pytest.mark.parametrize('variant', sorted(ABLATIONS))
def test_each_ablation_changes_one_thing(variant):
    main = _shike('imagenet-lt').to_dict()
    ablation = _shike('imagenet-lt', f'_{variant}').to_dict()

    def leaves(tree, prefix=''):
        if isinstance(tree, dict) and tree:
            for key, value in tree.items():
                yield from leaves(value, f'{prefix}{key}.')
        else:
            yield prefix[:-1], tree

    ours, theirs = dict(leaves(main)), dict(leaves(ablation))
    missing = object()
    changed = {
        key
        for key in ours.keys() | theirs.keys()
        if ours.get(key, missing) != theirs.get(key, missing)
    }
    # every change lies under one of the switched settings, and each of
    # them changed
    expected = ABLATIONS[variant]
    assert all(
        any(key == e or key.startswith(e + '.') for e in expected)
        for key in changed), changed
    assert all(
        any(key == e or key.startswith(e + '.') for key in changed)
        for e in expected), changed
    if variant == 'no-stage2':
        (scheduler, ) = ablation['param_scheduler']
        assert (scheduler['T_max'], scheduler['end']) == (10, 10)
        assert ablation['custom_hooks'] == []
    if variant == 'stage1-ce':
        assert ablation['model']['head']['ce_loss'] == dict(
            type='CrossEntropyLoss', loss_weight=1.0)


def test_the_ablation_models_build_without_what_they_switch_off():
    models = {
        variant:
        MODELS.build(
            _without_files(_shike('imagenet-lt', f'_{variant}').model))
        for variant in ('no-dkf', 'no-dkt', 'no-mkd', 'no-stage2')
    }
    assert models['no-dkf'].backbone.fusion is None
    assert models['no-dkt'].head.dkt_loss is None
    assert models['no-mkd'].head.mkd_loss is None
    assert not models['no-stage2'].head.has_stage2


def test_model_index_entries():
    entries = {
        osp.basename(m['Config']): m
        for m in METAFILE['Models'] if 'clip-vit-b16' in m['Config']
    }
    assert set(entries) == {
        f'shike_clip-vit-b16_{dataset}.py'
        for dataset in DATASETS
    }
    for config, entry in entries.items():
        dataset = config[len('shike_clip-vit-b16_'):-len('.py')]
        num_classes, width, epochs, _ = DATASETS[dataset]
        metadata = entry['Metadata']
        assert entry['Name'].startswith(
            'shike_vit-base-p16_clip-openai-pre_1xb128-')
        assert metadata['Epochs'] == epochs
        assert metadata['Batch Size'] == 128
        adapters = (BLOCKS - EXPERT_LAYERS + NUM_EXPERTS * EXPERT_LAYERS +
                    NUM_EXPERTS) * _adapter(width)
        assert metadata['Trainable Parameters'] == \
            adapters + 2 * NUM_EXPERTS * num_classes * DIMS
        (result, ) = entry['Results']
        assert result['Metrics']['Top 1 Accuracy'] == 'not yet trained'


def test_lora_variant_is_the_peft_axis():
    """As lift_clip-vit-b16_imagenet-lt_lora.py is to LIFT: rank-32 updates
    of the packed qkv in the trunk (10 blocks) and per expert (2 blocks),
    the gates of the updates' rank."""
    cfg = _shike('imagenet-lt', '_lora')
    lift = _config('lift/lift_clip-vit-b16_imagenet-lt_lora.py')
    backbone = cfg.model.backbone
    assert backbone.type == 'ExpertLoRAModel'
    assert backbone.module == lift.model.backbone.module
    assert (backbone.rank, backbone.alpha) == (lift.model.backbone.rank,
                                               lift.model.backbone.alpha)
    assert cfg.model.head == _shike('imagenet-lt').model.head
    model = MODELS.build(_without_files(cfg.model))
    lora = DIMS * 32 + 32 * 3 * DIMS
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == (
        BLOCKS - EXPERT_LAYERS + NUM_EXPERTS * EXPERT_LAYERS
    ) * lora + NUM_EXPERTS * _adapter(32) + 2 * NUM_EXPERTS * 1000 * DIMS
