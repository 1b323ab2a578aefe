"""ChannelsLastHook: the model trains on channels-last inputs (and weights
where DDP allows) with the losses and gradients of the default format."""
import copy
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from shike_mm.engine.hooks import ChannelsLastHook
from shike_mm.testing import bypass_cifar_md5
from shike_mm.utils import find_config

CHANNELS_LAST = torch.channels_last


def _is_nhwc(tensor):
    """Channels-last strides (and not also plain contiguous, as a tensor
    with a single channel or pixel would be)."""
    return tensor.is_contiguous(memory_format=CHANNELS_LAST) and \
        not tensor.is_contiguous()


def _train(cfg, channels_last):
    """Train ``cfg`` in process; returns the model and the inputs its
    backbone saw."""
    cfg.default_hooks.channels_last.enable = channels_last
    seen = []
    with bypass_cifar_md5():
        runner = Runner.from_cfg(cfg)
        runner.model.backbone.register_forward_pre_hook(
            lambda module, args: seen.append(args[0]))
        runner.train()
    return runner.model, seen


def test_a_run_starts_from_the_same_weights_in_channels_last(tiny_shike_cfg):
    """The weights are converted after the Runner initialised them; with
    lr=0 they stay the initial weights."""
    cfg = tiny_shike_cfg(max_epochs=1)
    cfg.custom_hooks = []  # stage 1 only, declared by a single-stage head
    cfg.model.head.bal_loss = None
    cfg.optim_wrapper.optimizer.lr = 0.0
    # One batch of 10 images; no validation, nor the class counts the
    # stage-1 losses do not need.
    cfg.train_dataloader.dataset.indices = 10
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.pop('class_counts')
    # The Runner formats the config four times; the unused AutoAugment
    # policy is most of its text.
    cfg.pop('cifar10_policies')
    cfg.pop('train_pipeline')
    default, default_inputs = _train(copy.deepcopy(cfg), False)
    nhwc, nhwc_inputs = _train(cfg, True)

    assert default_inputs and not any(map(_is_nhwc, default_inputs))
    assert len(nhwc_inputs) == 1 and _is_nhwc(nhwc_inputs[0])
    assert _is_nhwc(nhwc.backbone.conv1.weight)
    assert _is_nhwc(nhwc.neck.expert_stages[0][0].conv1.weight)
    for (name, value), expected in zip(nhwc.named_parameters(),
                                       default.parameters()):
        assert torch.equal(value, expected), name


def _cifar_model():
    """The CIFAR SHIKE model in float64, so that a change of memory format
    leaves the losses and gradients equal to 1e-10, not just to float32
    rounding amplified by the network."""
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(find_config('shike/shike_r32_cifar100-lt-if100.py'))
    model_cfg = ConfigDict(cfg.model, data_preprocessor=cfg.data_preprocessor)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model.double().train()


def _batch():
    generator = torch.Generator().manual_seed(0)
    return dict(
        inputs=torch.randint(
            0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=generator),
        data_samples=[DataSample().set_gt_label(i) for i in range(8)])


def _loss_and_backward(net, module, seen):
    """One forward and backward pass of ``net`` (``module`` or a wrapper of
    it); returns the loss and records the backbone's input in ``seen``."""
    handle = module.backbone.register_forward_pre_hook(
        lambda _, args: seen.append(args[0]))
    data = module.data_preprocessor(_batch(), True)
    data['inputs'] = data['inputs'].double()
    loss, _ = module.parse_losses(net(**data, mode='loss'))
    loss.backward()
    handle.remove()
    return loss


def _assert_same_gradients(model, reference):
    for (name, param), expected in zip(model.named_parameters(),
                                       reference.parameters()):
        if expected.grad is not None:
            torch.testing.assert_close(
                param.grad, expected.grad, rtol=1e-10, atol=1e-12, msg=name)


def test_losses_and_gradients_do_not_change():
    model = _cifar_model()
    reference = copy.deepcopy(model)
    runner = SimpleNamespace(model=model, logger=mock.Mock())
    ChannelsLastHook().before_val(runner)
    assert 'and the weights' in runner.logger.info.call_args[0][0]
    seen = []
    loss = _loss_and_backward(model, model, seen)
    assert _is_nhwc(seen[0]) and _is_nhwc(model.backbone.conv1.weight)
    expected = _loss_and_backward(reference, reference, [])
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=0)
    _assert_same_gradients(model, reference)


def test_disabled_leaves_the_model_alone():
    model = torch.nn.Conv2d(3, 4, 3)
    model.data_preprocessor = torch.nn.Identity()
    runner = SimpleNamespace(model=model, logger=mock.Mock())
    ChannelsLastHook(enable=False).before_train(runner)
    assert model.weight.is_contiguous()
    runner.logger.info.assert_not_called()


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
    """DDP copies gradients into buckets laid out at construction: the hook
    leaves the wrapped weights' format alone and converts the inputs."""
    model = _cifar_model()
    reference = copy.deepcopy(model)
    ddp = MMDistributedDataParallel(module=model, find_unused_parameters=True)
    runner = SimpleNamespace(model=ddp, logger=mock.Mock())
    ChannelsLastHook().before_train(runner)
    assert 'weights unchanged' in runner.logger.info.call_args[0][0]
    seen = []
    _loss_and_backward(ddp, model, seen)
    assert _is_nhwc(seen[0]) and model.backbone.conv1.weight.is_contiguous()
    _loss_and_backward(reference, reference, [])
    _assert_same_gradients(model, reference)
