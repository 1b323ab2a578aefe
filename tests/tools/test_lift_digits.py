"""The LIFT path end to end on the CPU with a tiny random CLIP and the
digits: OpenAI-style archive -> clip_to_mm.py -> clip_text_classifier.py
-> two epochs of tools/train.py -> a checkpoint of what trained ->
tools/test.py with and without the crop ensemble; the frozen weights stay
bit-identical and a model on other base weights refuses the checkpoint."""

import pytest
import torch
from helpers import REPO_ROOT
from mmpretrain import inference_model

from shike_mm.apis import get_classifier
from shike_mm.models.peft import AdaptFormerLayer
from shike_mm.models.utils.text_classifier import load_text_classifier
from shike_mm.testing import write_fake_clip_archive
from shike_mm.utils import load_local_checkpoint
from shike_mm.utils.checkpoint import CheckpointMismatchError

DIGITS = [
    'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight',
    'nine'
]
CONFIG = '''_base_ = [
    '{root}/configs/_base_/datasets/digits-lt_bs16.py',
    '{root}/configs/_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='AdaptFormerModel',
        num_classes=10,
        module=dict(
            type='PretrainedBase',
            checkpoint='{clip}',
            module=dict(
                type='VisionTransformer',
                arch=dict(
                    embed_dims=64,
                    num_layers=2,
                    num_heads=1,
                    feedforward_channels=256),
                img_size=32,
                patch_size=8,
                pre_norm=True,
                out_type='cls_token',
                norm_cfg=dict(type='LN', eps=1e-5),
                layer_cfgs=dict(act_cfg=dict(type='QuickGELU'))))),
    head=dict(
        type='CosineClsHead',
        num_classes=10,
        in_channels=64,
        scale=25.0,
        text_weights='{text}',
        loss=dict(type='LogitAdjustedLoss', tau=1.0)))
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
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=2, eta_min=0.0, by_epoch=True,
         begin=0, end=2, convert_to_iter_based=False)
]
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=2)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=10))
cpu_threads = 1
'''


def _write_config(path, clip, text):
    path.write_text(CONFIG.format(root=REPO_ROOT, clip=clip, text=text))
    return str(path)


@pytest.fixture(scope='module')
def lift_run(tmp_path_factory, fake_clip, load_tool):
    root = tmp_path_factory.mktemp('lift_digits')
    names = root / 'digits.txt'
    names.write_text('\n'.join(DIGITS) + '\n')
    text = root / 'text.pth'
    load_tool('misc/clip_text_classifier.py').main([
        str(fake_clip.converted),
        str(text), '--class-names',
        str(names), '--num-classes', '10'
    ])
    config = _write_config(root / 'lift_digits.py', fake_clip.converted, text)
    work_dir = root / 'work'
    load_tool('train.py').main([config, '--work-dir', str(work_dir)])
    return dict(
        root=root,
        config=config,
        text=text,
        checkpoint=str(work_dir / 'epoch_2.pth'))


def test_checkpoint_holds_what_trained_and_the_base_hash(lift_run, fake_clip):
    checkpoint = load_local_checkpoint(lift_run['checkpoint'])
    state = checkpoint['state_dict']
    assert 'head.fc.weight' in state
    adapters = [k for k in state if '.adapter.' in k]
    assert len(adapters) == 2 * 7 and len(state) == len(adapters) + 1
    clip_meta = load_local_checkpoint(str(fake_clip.converted))['meta']
    assert checkpoint['meta']['base_weights'] == {
        'backbone.module': {
            'checkpoint': str(fake_clip.converted),
            'sha256': clip_meta['backbone_sha256']
        }
    }
    assert checkpoint['meta']['train_class_counts']


def test_frozen_weights_are_bit_identical_after_training(lift_run, fake_clip):
    model = get_classifier(lift_run['config'], lift_run['checkpoint'])
    clip = load_local_checkpoint(str(fake_clip.converted))['state_dict']
    vit = model.backbone.module.module
    layer = vit.layers[1]
    assert isinstance(layer, AdaptFormerLayer)
    pairs = [
        (vit.patch_embed.projection.weight,
         'backbone.patch_embed.projection.weight'),
        (vit.pos_embed, 'backbone.pos_embed'),
        (layer.layer.attn.qkv.weight, 'backbone.layers.1.attn.qkv.weight'),
        (layer.layer.ffn.layers[1].bias,
         'backbone.layers.1.ffn.layers.1.bias'),
        (vit.ln1.weight, 'backbone.ln1.weight'),
    ]
    for ours, key in pairs:
        assert torch.equal(ours, clip[key].float()), key
    # The adapters and the head trained; the head started from the text.
    assert torch.count_nonzero(layer.adapter.up.weight) > 0
    text = load_text_classifier(str(lift_run['text']))
    assert not torch.equal(model.head.fc.weight, text)
    image = (torch.rand(32, 32, 3) * 255).byte().numpy()
    assert 0 <= inference_model(model, image)['pred_label'] < 10


@pytest.mark.parametrize(
    'ensemble', [[], ['--crop-ensemble', 'five'], ['--crop-ensemble', 'ten']])
def test_tools_test_with_and_without_the_crop_ensemble(lift_run, load_tool,
                                                       ensemble, tmp_path):
    metrics = load_tool('test.py').main([
        lift_run['config'], lift_run['checkpoint'], '--work-dir',
        str(tmp_path)
    ] + ensemble)
    assert 0.0 <= metrics['lt/top1'] <= 100.0


def test_a_model_on_other_base_weights_refuses_it(lift_run, load_tool,
                                                  tmp_path):
    write_fake_clip_archive(str(tmp_path / 'other.pt'), seed=1)
    load_tool('model_converters/clip_to_mm.py').main(
        [str(tmp_path / 'other.pt'),
         str(tmp_path / 'other.pth')])
    config = _write_config(tmp_path / 'other_base.py', tmp_path / 'other.pth',
                           lift_run['text'])
    ours = load_local_checkpoint(
        lift_run['checkpoint'])['meta']['base_weights']['backbone.module']
    other = load_local_checkpoint(str(tmp_path / 'other.pth'))['meta']
    with pytest.raises(CheckpointMismatchError) as error:
        load_tool('test.py').main([
            config, lift_run['checkpoint'], '--work-dir',
            str(tmp_path / 'work')
        ])
    assert ours['sha256'] in str(error.value)
    assert other['backbone_sha256'] in str(error.value)
    with pytest.raises(CheckpointMismatchError, match=ours['sha256']):
        get_classifier(config, lift_run['checkpoint'])
