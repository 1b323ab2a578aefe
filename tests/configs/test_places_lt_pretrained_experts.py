"""The Places-LT config starts from an ImageNet-pretrained ResNet-152: with
a tiny saved checkpoint, initialisation loads the shared stages into the
trunk and copies stage 4 into every expert, and the identity-initialised
fusion keeps the pretrained features."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.models.backbones import ResNet
from mmpretrain.registry import MODELS

from shike_mm.utils import find_config

# ResNet-152 at 1/128 width: stages give 8, 16, 32 and 64 channels.
TINY = dict(base_channels=2, stem_channels=8)


@pytest.fixture(scope='module')
def tiny_pretrained(tmp_path_factory):
    """A tiny ResNet-152 with random weights and BN statistics, saved as an
    MMPretrain ImageNet classifier checkpoint."""
    torch.manual_seed(0)
    backbone = ResNet(depth=152, out_indices=(3, ), **TINY)
    with torch.no_grad():
        for name, tensor in backbone.state_dict().items():
            if tensor.is_floating_point():
                tensor.uniform_(0.5, 1.5) if 'running_var' in name \
                    else tensor.normal_(0, 0.2)
    state_dict = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state_dict['head.fc.weight'] = torch.randn(1000, 64)
    path = tmp_path_factory.mktemp('pretrained') / 'tiny_r152_in1k.pth'
    torch.save({'meta': {}, 'state_dict': state_dict}, str(path))
    backbone.eval()
    return str(path), backbone


def _tiny_places_model(checkpoint):
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(find_config('shike/shike_r152_places-lt.py'))
    assert cfg.model.backbone.init_cfg.checkpoint == cfg.pretrained
    assert cfg.model.neck.expert_pretrained == dict(
        checkpoint=cfg.pretrained, prefix='backbone.layer4.')
    cfg.merge_from_dict({
        'model.backbone':
        dict(TINY, init_cfg=dict(checkpoint=checkpoint)),
        'model.neck.in_channels': (8, 16, 32),
        'model.neck.expert_stage.out_channels':
        64,
        'model.neck.expert_pretrained.checkpoint':
        checkpoint,
        'model.head.in_channels':
        64,
    })
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def test_every_expert_starts_from_the_pretrained_stage4(tiny_pretrained):
    checkpoint, pretrained = tiny_pretrained
    model = _tiny_places_model(checkpoint)
    reference = pretrained.state_dict()

    for key, value in model.backbone.state_dict().items():
        torch.testing.assert_close(value, reference[key], msg=key)
    stage4 = {
        key[len('layer4.'):]: value
        for key, value in reference.items() if key.startswith('layer4.')
    }
    assert len(model.neck.expert_stages) == 3
    for stage in model.neck.expert_stages:
        copied = stage.state_dict()
        assert copied.keys() == stage4.keys()
        for key, value in stage4.items():
            torch.testing.assert_close(copied[key], value, msg=key)
    # separate copies, so the experts can diverge
    experts = model.neck.expert_stages
    assert experts[0][0].conv1.weight.data_ptr() != \
        experts[1][0].conv1.weight.data_ptr()


def test_first_forward_gives_the_pretrained_features(tiny_pretrained):
    checkpoint, pretrained = tiny_pretrained
    model = _tiny_places_model(checkpoint)
    model.eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        feats = model.extract_feat(images)
        expected = pretrained(images)[0].mean(dim=(2, 3))
        logits = model.head.expert_logits(feats)
    assert len(feats) == 3
    for feat in feats:
        torch.testing.assert_close(feat, expected)
    assert logits.shape == (3, 2, 365)
