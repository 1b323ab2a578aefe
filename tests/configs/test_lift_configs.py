"""The LIFT configs state LIFT's recipe (tests/models/peft holds the model's
equality with LIFT); the PEFT variants train what they say; the model index
lists every config with the numbers they imply."""
import glob
import os.path as osp

import pytest
from helpers import REPO_ROOT
from mmengine.config import Config
from mmengine.fileio import load
from mmengine.registry import init_default_scope
from mmpretrain import list_models
from mmpretrain.registry import MODELS

from shike_mm.utils import find_config

CLIP_MEAN = [0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255]
CLIP_STD = [0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255]
# config: (classes, blocks, adapter width (LIFT's formula), feature size,
#          epochs, crop-ensemble resize)
LIFT = {
    'lift_clip-vit-b16_imagenet-lt': (1000, 12, 32, 768, 10, 248),
    'lift_clip-vit-b16_places-lt': (365, 12, 8, 768, 10, 248),
    'lift_clip-vit-b16_inat2018': (8142, 12, 256, 768, 20, 248),
    'lift_clip-vit-b16_cifar100-lt-if100': (100, 12, 4, 768, 10, 248),
    'lift_clip-vit-l14_imagenet-lt': (1000, 24, 16, 1024, 10, 245),
}
METAFILE = load(osp.join(REPO_ROOT, 'configs', 'lift', 'metafile.yml'))


def _config(name):
    init_default_scope('mmpretrain')
    return Config.fromfile(find_config(f'lift/{name}.py'))


def _without_files(model):
    """The model config without its weight files."""
    backbone = model.backbone
    (backbone if backbone.type == 'PretrainedBase' else
     backbone.module).checkpoint = None
    model.head.text_weights = None
    return model


@pytest.mark.parametrize('name', sorted(LIFT))
@pytest.mark.parametrize('gpus', ['', '_8xb16'])
def test_recipe(name, gpus):
    num_classes, _, _, dims, epochs, resize = LIFT[name]
    cfg = _config(name + gpus)
    backbone, head = cfg.model.backbone, cfg.model.head
    assert backbone.type == 'AdaptFormerModel'
    assert backbone.num_classes == num_classes
    assert backbone.layer_indices is None and backbone.scale == 'learnable'
    base = backbone.module
    assert base.type == 'PretrainedBase' and base.frozen
    vit = base.module
    assert (vit.pre_norm, vit.final_norm, vit.out_type) == (True, True,
                                                            'cls_token')
    assert vit.norm_cfg == dict(type='LN', eps=1e-5)
    assert vit.layer_cfgs == dict(act_cfg=dict(type='QuickGELU'))
    assert vit.patch_size == (14 if 'l14' in name else 16)
    assert (head.type, head.scale, head.in_channels,
            head.num_classes) == ('CosineClsHead', 25.0, dims, num_classes)
    assert head.loss == dict(type='LogitAdjustedLoss', tau=1.0)
    assert head.text_weights.endswith('.pth')
    assert cfg.data_preprocessor.num_classes == num_classes
    assert cfg.data_preprocessor.mean == pytest.approx(CLIP_MEAN)
    assert cfg.data_preprocessor.std == pytest.approx(CLIP_STD)

    optimizer = cfg.optim_wrapper.optimizer
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.01, 0.9, 5e-4)
    (scheduler, ) = cfg.param_scheduler
    assert scheduler.type == 'CosineAnnealingLR'
    assert (scheduler.T_max, scheduler.end, scheduler.eta_min) == (epochs,
                                                                   epochs, 0)
    assert scheduler.by_epoch and not scheduler.convert_to_iter_based
    assert cfg.train_cfg.max_epochs == epochs
    per_gpu = 16 if gpus else 128
    assert cfg.train_dataloader.batch_size == per_gpu
    assert cfg.auto_scale_lr.base_batch_size == 128
    assert 'effective batch 128' in open(find_config(f'lift/{name}.py')).read()

    crop, flip = cfg.train_dataloader.dataset.pipeline[-3:-1]
    assert crop == dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.08, 1.0),
        aspect_ratio_range=(3 / 4, 4 / 3),
        backend='pillow',
        interpolation='bilinear')
    assert flip == dict(type='RandomFlip', prob=0.5, direction='horizontal')
    resize_edge, center = cfg.test_dataloader.dataset.pipeline[-3:-1]
    assert (resize_edge.type, resize_edge.scale,
            resize_edge.interpolation) == ('ResizeEdge', 256, 'bilinear')
    assert center == dict(type='CenterCrop', crop_size=224)
    assert cfg.crop_ensemble == dict(views=None, resize=resize)


def test_cifar_keeps_lift_subset():
    dataset = _config(
        'lift_clip-vit-b16_cifar100-lt-if100').train_dataloader.dataset
    assert (dataset.imb_factor, dataset.subset_rule,
            dataset.subset_seed) == (100, 'shuffle', 0)


@pytest.mark.parametrize('variant, backbone, trainable', [
    ('', 'AdaptFormerModel', 12 * 51489 + 768000),
    ('_lora', 'LoRAModel', 12 * (768 * 32 + 32 * 3 * 768) + 768000),
    ('_linear-probe', 'PretrainedBase', 768000),
])
def test_peft_axis_trains_what_it_says(variant, backbone, trainable):
    cfg = _config('lift_clip-vit-b16_imagenet-lt' + variant)
    assert cfg.model.backbone.type == backbone
    model = MODELS.build(_without_files(cfg.model))
    assert sum(p.numel() for p in model.parameters()
               if p.requires_grad) == trainable
    assert set(model.state_dict()) == {
        n
        for n, p in model.named_parameters() if p.requires_grad
    }


def test_full_fine_tuning_variant():
    cfg = _config('lift_clip-vit-b16_imagenet-lt_full-ft')
    assert cfg.model.backbone.type == 'PretrainedBase'
    assert cfg.model.backbone.frozen is False
    assert cfg.optim_wrapper.optimizer.lr == 5e-4


def test_model_index_lists_every_config():
    models = {m['Name']: m for m in METAFILE['Models']}
    assert set(list_models('lift*')) == set(models)
    configs = {m['Config'] for m in models.values()}
    shipped = {
        f'configs/lift/{osp.basename(p)}'
        for p in glob.glob(osp.join(REPO_ROOT, 'configs', 'lift', '*.py'))
    }
    assert configs == shipped
    for name, model in models.items():
        assert model['In Collection'] == 'LIFT'
        metadata = model['Metadata']
        assert metadata['Batch Size'] == 128
        (result, ) = model['Results']
        assert result['Metrics']['Top 1 Accuracy'] == 'not yet trained'
        config = osp.splitext(osp.basename(model['Config']))[0]
        key = config.replace('_8xb16', '')
        if key in LIFT:
            num_classes, blocks, width, dims, _, _ = LIFT[key]
            adapter = 2 * dims + dims * width + width + width * dims + dims \
                + 1
            assert metadata['Trainable Parameters'] == \
                blocks * adapter + num_classes * dims, name
