"""Every backbone family's model base has the SHIKE head and expert count
of shike_common.py, with its own width and classes; the large-scale ones
with DKT and MKD at the per-sample strengths of the CIFAR-100 recipe."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from shike_mm.utils import find_config

SHIKE_HEAD = dict(
    type='SHIKEHead',
    num_experts=3,
    scale=30.0,
    ce_loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    dkt_loss=dict(type='DKTLoss', loss_weight=10.0, reduction='mean'),
    mkd_loss=dict(type='MutualKDLoss', loss_weight=1.0, reduction='mean'),
    bal_loss=dict(type='BalancedSoftmaxLoss', loss_weight=1.0),
    topk=(1, 5))
# The large-scale families: 0.1 and 0.01 per sample at any class count
# (the official 10 and 1 over B x C are 0.1 and 0.01 at C = 100).
LARGE_SCALE_HEAD = dict(
    SHIKE_HEAD,
    dkt_loss=dict(type='DKTLoss', loss_weight=0.1, reduction='batchmean'),
    mkd_loss=dict(
        type='MutualKDLoss', loss_weight=0.01, reduction='batchmean'))
# model base: (classes, width of the experts' features)
FAMILIES = {
    'shike_r32_cifar.py': (100, 64),
    'shike_r50.py': (1000, 2048),
    'shike_r152.py': (1000, 2048),
    'shike_rx50.py': (1000, 2048),
    'shike_regnetx-1.6gf.py': (1000, 912),
    'shike_convnext-t.py': (1000, 768),
    'shike_swin-t.py': (1000, 768),
    'shike_vit-s.py': (1000, 384),
}
# Model bases that are no backbone family: the shared parts, and SHIKE on
# the LIFT model (tests/configs/test_shike_clip_configs.py).
OTHER_BASES = {
    'shike_common.py', 'shike_common_large_scale.py', 'shike_clip-vit-b16.py'
}


def test_every_model_base_is_a_listed_family():
    folder = osp.dirname(find_config('_base_/models/shike_common.py'))
    names = {
        osp.basename(p)
        for p in glob.glob(osp.join(folder, 'shike_*.py'))
    }
    assert names - OTHER_BASES == set(FAMILIES)


@pytest.mark.parametrize('name', sorted(FAMILIES))
def test_family_has_the_shike_head_with_its_own_width(name):
    num_classes, width = FAMILIES[name]
    model = Config.fromfile(find_config(f'_base_/models/{name}')).model
    assert model.type == 'ImageClassifier'
    assert model.neck.type == 'DKFNeck'
    assert model.neck.num_experts == model.head.num_experts
    # ViT's maps all have one resolution: nothing to fuse by down-sampling
    assert model.neck.fuse is (name != 'shike_vit-s.py')
    head = SHIKE_HEAD if name == 'shike_r32_cifar.py' else LARGE_SCALE_HEAD
    assert model.head.to_dict() == dict(
        head, num_classes=num_classes, in_channels=width)
