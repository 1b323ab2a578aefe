"""SHIKE on CLIP end to end on the CPU, with a tiny random CLIP and the
digits: the real model base (experts as adapters, token fusion, SHIKE's
head and losses) on the converted archive, text initialisation, both
stages through SHIKEStageSwitchHook, checkpoints of what trained, and
tools/test.py with and without the five-crop ensemble."""
import json

import pytest
import torch
from helpers import REPO_ROOT

from shike_mm.apis import get_classifier
from shike_mm.models.peft import ExpertAdaptFormerLayer, FanOut
from shike_mm.models.utils.text_classifier import load_text_classifier
from shike_mm.utils import load_local_checkpoint

DIGITS = [
    'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight',
    'nine'
]
CONFIG = '''_base_ = [
    '{root}/configs/_base_/models/shike_clip-vit-b16.py',
    '{root}/configs/_base_/datasets/digits-lt_bs16.py',
    '{root}/configs/_base_/default_runtime.py',
]
model = dict(
    backbone=dict(
        num_classes=10,
        expert_layers=1,
        module=dict(
            checkpoint='{clip}',
            module=dict(
                arch=dict(
                    _delete_=True,
                    embed_dims=64,
                    num_layers=2,
                    num_heads=1,
                    feedforward_channels=256),
                img_size=32,
                patch_size=8))),
    head=dict(num_classes=10, in_channels=64, text_weights='{text}'))
test_pipeline = [
    dict(type='ResizeEdge', scale=36, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
crop_ensemble = dict(views=None, resize=40)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=2, eta_min=0.0, by_epoch=True,
         begin=0, end=2, convert_to_iter_based=False),
    dict(type='CosineAnnealingLR', T_max=1, eta_min=0.0, by_epoch=True,
         begin=2, end=3, convert_to_iter_based=False),
]
custom_hooks = [
    dict(type='SHIKEStageSwitchHook', switch_epoch=2,
         stage2_lr_factor=2 / 3),
]
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=3)
val_cfg = dict()
test_cfg = dict()
find_unused_parameters = True
default_hooks = dict(
    logger=dict(interval=26),
    checkpoint=dict(interval=1, max_keep_ckpts=-1))
cpu_threads = 1
'''


@pytest.fixture(scope='module')
def shike_run(tmp_path_factory, fake_clip, load_tool):
    root = tmp_path_factory.mktemp('shike_clip_digits')
    names = root / 'digits.txt'
    names.write_text('\n'.join(DIGITS) + '\n')
    text = root / 'text.pth'
    load_tool('misc/clip_text_classifier.py').main([
        str(fake_clip.converted),
        str(text), '--class-names',
        str(names), '--num-classes', '10'
    ])
    config = root / 'shike_clip_digits.py'
    config.write_text(
        CONFIG.format(root=REPO_ROOT, clip=fake_clip.converted, text=text))
    work_dir = root / 'work'
    load_tool('train.py').main([str(config), '--work-dir', str(work_dir)])
    return dict(
        config=str(config),
        text=str(text),
        work_dir=work_dir,
        stage1=load_local_checkpoint(str(work_dir / 'epoch_2.pth')),
        stage2=str(work_dir / 'epoch_3.pth'))


def test_both_stages_trained_what_they_train(shike_run):
    stage1 = shike_run['stage1']['state_dict']
    checkpoint = load_local_checkpoint(shike_run['stage2'])
    stage2 = checkpoint['state_dict']
    assert set(stage1) == set(stage2)
    layers = 'backbone.module.module.layers.'
    # 1 trunk block, 3 experts x 1 block, 3 gates of 7 tensors; 2 x 3
    # classifiers and the stage
    assert len([k for k in stage2 if k.startswith(layers)]) == 4 * 7
    assert len([k for k in stage2 if k.startswith('backbone.fusion.')]) == 21
    assert len([k for k in stage2 if k.startswith('head.')]) == 7
    assert len(stage2) == 28 + 21 + 7
    assert int(stage1['head.stage']) == 1 and int(stage2['head.stage']) == 2
    assert checkpoint['meta']['shike_switch_epoch'] == 2
    assert set(checkpoint['meta']['base_weights']) == {'backbone.module'}

    text = load_text_classifier(shike_run['text'])
    for key in stage2:
        if key.startswith('head.retrain_classifiers.'):
            # untouched in stage 1 (from the text), re-trained in stage 2
            torch.testing.assert_close(stage1[key], text)
            assert not torch.equal(stage2[key], stage1[key]), key
        elif key != 'head.stage':
            # stage 2 froze everything else
            assert torch.equal(stage2[key], stage1[key]), key
    assert not torch.equal(stage1['head.classifiers.0.weight'], text)
    assert stage1[layers + '1.layer.adapters.2.up.weight'].any()
    assert stage1['backbone.fusion.gates.0.up.weight'].any()


def test_the_logs_show_each_stage_losses(shike_run):
    (scalars, ) = shike_run['work_dir'].glob('*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    train = [r for r in records if 'loss' in r and 'epoch' in r]
    by_epoch = {r['epoch']: set(r) for r in train}
    assert {'loss_la', 'loss_dkt', 'loss_mkd'} <= by_epoch[1]
    assert 'loss_bal' in by_epoch[3] and 'loss_la' not in by_epoch[3]


def test_frozen_weights_are_bit_identical_after_training(shike_run, fake_clip):
    model = get_classifier(shike_run['config'], shike_run['stage2'])
    clip = load_local_checkpoint(str(fake_clip.converted))['state_dict']
    vit = model.backbone.module.module
    assert isinstance(vit.layers[1], FanOut)
    layer = vit.layers[1].layer
    assert isinstance(layer, ExpertAdaptFormerLayer)
    assert model.head.current_stage == 2
    pairs = [
        (vit.patch_embed.projection.weight,
         'backbone.patch_embed.projection.weight'),
        (vit.layers[0].layer.attn.qkv.weight,
         'backbone.layers.0.attn.qkv.weight'),
        (layer.layer.attn.qkv.weight, 'backbone.layers.1.attn.qkv.weight'),
        (layer.layer.ffn.layers[1].bias,
         'backbone.layers.1.ffn.layers.1.bias'),
        (vit.ln1.weight, 'backbone.ln1.weight'),
    ]
    for ours, key in pairs:
        assert torch.equal(ours, clip[key].float()), key


@pytest.mark.parametrize('ensemble', [[], ['--crop-ensemble', 'five']])
def test_tools_test_with_and_without_the_five_crop_ensemble(
        shike_run, load_tool, ensemble, tmp_path):
    metrics = load_tool('test.py').main([
        shike_run['config'], shike_run['stage2'], '--work-dir',
        str(tmp_path)
    ] + ensemble)
    assert 0.0 <= metrics['lt/top1'] <= 100.0
