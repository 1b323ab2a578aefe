"""The ImageNet-LT, iNaturalist 2018 and Places-LT configs build as they
are; the ResNet-50 and ResNeXt-50 models take a training step on the CPU."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.models.backbones import ResNet, ResNeXt
from mmpretrain.registry import MODELS

from shike_mm.utils import find_config

LARGE_SCALE = {
    # config: (backbone, depth, classes, stage-1 LR, batch per GPU,
    #          epochs, switch epoch, stage-2 LR)
    'shike/shike_r50_imagenet-lt.py':
    ('ResNet', 50, 1000, 0.1, 32, 200, 180, 0.025),
    'shike/shike_rx50_imagenet-lt.py':
    ('ResNeXt', 50, 1000, 0.1, 32, 200, 180, 0.025),
    'shike/shike_r50_inat2018.py':
    ('ResNet', 50, 8142, 0.2, 64, 200, 180, 0.05),
    'shike/shike_r152_places-lt.py':
    ('ResNet', 152, 365, 0.02, 32, 30, 25, 0.01),
}
REFERENCE_BACKBONES = {
    ('ResNet', 50): lambda: ResNet(depth=50),
    ('ResNeXt', 50): lambda: ResNeXt(depth=50, groups=32, width_per_group=4),
    ('ResNet', 152): lambda: ResNet(depth=152),
}


def _config(name):
    init_default_scope('mmpretrain')
    return Config.fromfile(find_config(name))


@pytest.mark.parametrize('name', sorted(LARGE_SCALE))
def test_recipe_as_documented(name):
    (backbone, depth, num_classes, lr, batch_size, epochs, switch,
     stage2_lr) = LARGE_SCALE[name]
    cfg = _config(name)
    assert cfg.model.backbone.type == backbone
    assert cfg.model.backbone.depth == depth
    assert cfg.model.head.num_classes == num_classes
    assert cfg.data_preprocessor.num_classes == num_classes
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(lr)
    assert cfg.train_dataloader.batch_size == batch_size
    assert cfg.train_cfg.max_epochs == epochs
    (hook, ) = cfg.custom_hooks
    assert hook.type == 'SHIKEStageSwitchHook'
    assert hook.switch_epoch == switch
    assert hook.stage2_lr_factor * lr == pytest.approx(stage2_lr)
    assert cfg.find_unused_parameters is True
    checkpoint = cfg.default_hooks.checkpoint
    assert checkpoint.save_best == 'lt/top1' and checkpoint.max_keep_ckpts == 1
    # the official CIFAR-100 strengths per sample, 0.1 and 0.01
    assert cfg.model.head.dkt_loss.loss_weight == pytest.approx(0.1)
    assert cfg.model.head.mkd_loss.loss_weight == pytest.approx(0.01)
    assert cfg.model.head.dkt_loss.reduction == 'batchmean'
    assert cfg.model.head.mkd_loss.reduction == 'batchmean'


@pytest.mark.parametrize('name', sorted(LARGE_SCALE))
def test_builds_with_experts_that_are_copies_of_stage4(name):
    backbone, depth = LARGE_SCALE[name][:2]
    model = MODELS.build(_config(name).model)
    assert model.backbone.num_stages == 3
    assert not hasattr(model.backbone, 'layer4')
    layer4 = REFERENCE_BACKBONES[(backbone, depth)]().layer4
    expected = {k: v.shape for k, v in layer4.state_dict().items()}
    assert len(model.neck.expert_stages) == 3
    for stage in model.neck.expert_stages:
        assert {k: v.shape for k, v in stage.state_dict().items()} == expected
    assert model.neck.shallow_sources == (0, 1, 2)
    assert [len(aligner) for aligner in model.neck.aligners] == [3, 2, 1]


@pytest.mark.parametrize(
    'name',
    ['shike/shike_r50_imagenet-lt.py', 'shike/shike_rx50_imagenet-lt.py'])
def test_train_step_on_two_small_images(name, small_train_batch,
                                        take_train_step):
    losses, changed = take_train_step(_config(name), small_train_batch())
    assert {'loss', 'loss_ce', 'loss_dkt', 'loss_mkd'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    for part in ('backbone.layer1', 'backbone.layer3', 'neck.expert_stages.2',
                 'neck.aligners.0', 'head.classifiers.1'):
        assert any(n.startswith(part) for n in changed), part
    assert not any(n.startswith('head.retrain_classifiers') for n in changed)


@pytest.mark.parametrize('name', sorted(LARGE_SCALE))
def test_kd_losses_act_with_the_cifar100_strength_per_sample(name):
    """Per sample, summed over the classes, DKT and MKD weigh 0.1 and 0.01,
    as the official weights 10 and 1 over B x 100 do on CIFAR-100."""
    init_default_scope('mmpretrain')
    head = _config(name).model.head
    num_classes, batch = head.num_classes, 4
    dkt = MODELS.build(dict(head.dkt_loss, scale=head.scale))
    mkd = MODELS.build(head.mkd_loss)
    unit_dkt = MODELS.build(
        dict(head.dkt_loss, loss_weight=1.0, scale=head.scale))
    unit_mkd = MODELS.build(dict(head.mkd_loss, loss_weight=1.0))
    torch.manual_seed(0)
    logits = (torch.rand(3, batch, num_classes) * 60 - 30).double()
    target = torch.randint(num_classes, (batch, ))
    # a unit-weight KL summed over the classes and averaged over the batch
    official_cifar = MODELS.build(
        dict(
            type='DKTLoss',
            loss_weight=10.0,
            reduction='mean',
            scale=head.scale))
    assert unit_dkt.reduction == 'batchmean'
    torch.testing.assert_close(
        dkt(logits, target) / unit_dkt(logits, target),
        torch.tensor(0.1, dtype=torch.float64))
    torch.testing.assert_close(
        mkd(logits) / unit_mkd(logits),
        torch.tensor(0.01, dtype=torch.float64))
    # ... which is what the official 'mean' weight gives at 100 classes
    cifar_logits = logits[..., :100]
    cifar_target = target % 100
    torch.testing.assert_close(
        official_cifar(cifar_logits, cifar_target) /
        unit_dkt(cifar_logits, cifar_target),
        torch.tensor(0.1, dtype=torch.float64))
