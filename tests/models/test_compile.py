"""torch.compile traces the SHIKE training forward without graph breaks;
the breaks of a compiled ``train_step`` are MMEngine's ``loss.backward()``
and PyTorch's optimizer step (docs/performance.md)."""
import copy

import torch
import torch._dynamo as dynamo
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from shike_mm.utils import find_config

NUM_CLASSES = 10


def _small_cifar_model():
    """The CIFAR SHIKE model with 10 classes and ResNet-20 depth (one block
    fewer per stage), as the Runner builds it."""
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(find_config('shike/shike_r32_cifar100-lt-if100.py'))
    model_cfg = ConfigDict(
        copy.deepcopy(cfg.model), data_preprocessor=cfg.data_preprocessor)
    model_cfg.backbone.depth = 20
    model_cfg.neck.expert_stage.num_blocks = 3
    model_cfg.head.num_classes = NUM_CLASSES
    model_cfg.data_preprocessor.num_classes = NUM_CLASSES
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model.train()


def _batch(batch_size=4):
    """A collated batch, as ``default_collate`` gives it."""
    return dict(
        inputs=torch.randint(
            0, 256, (batch_size, 3, 32, 32), dtype=torch.uint8),
        data_samples=[
            DataSample().set_gt_label(i % NUM_CLASSES)
            for i in range(batch_size)
        ])


def _breaks(fn, *args):
    dynamo.reset()
    explanation = dynamo.explain(fn)(*args)
    return [(reason.reason.splitlines()[0], reason.user_stack[-1].filename)
            for reason in explanation.break_reasons]


def test_the_training_forward_compiles_in_one_graph():
    """What ``train_step`` runs before MMEngine's ``loss.backward()``: data
    preprocessor, backbone, DKF neck, head and the stage-1 losses."""
    model = _small_cifar_model()

    def losses(data):
        data = model.data_preprocessor(data, True)
        return model.parse_losses(model._run_forward(data, mode='loss'))

    assert _breaks(losses, _batch()) == []


def test_both_stages_of_the_head_compile_in_one_graph():
    head = _small_cifar_model().head
    feats = tuple(torch.randn(4, head.in_channels) for _ in range(3))
    data_samples = _batch()['data_samples']
    assert _breaks(head.loss, feats, data_samples) == []
    head.set_class_counts(list(range(1, NUM_CLASSES + 1)))
    head.set_stage(2)
    assert _breaks(head.loss, feats, data_samples) == []
