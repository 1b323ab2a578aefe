"""Helpers for the config tests: a small training batch and one training
step of a config's model with the config's own optimizer."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


def _train_batch(num_images=2, size=64, num_classes=1000):
    generator = torch.Generator().manual_seed(0)
    inputs = [
        torch.randint(
            0, 256, (3, size, size), generator=generator, dtype=torch.uint8)
        for _ in range(num_images)
    ]
    samples = [
        DataSample().set_gt_label(label % num_classes)
        for label in range(0, 7 * num_images, 7)
    ]
    return dict(inputs=inputs, data_samples=samples)


def _train_step(cfg, batch):
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim_cfg = dict(cfg.optim_wrapper, type='OptimWrapper')  # fp32 on CPU
    optim_cfg.pop('loss_scale', None)
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    losses = model.train_step(batch, optim_wrapper)
    changed = {
        n
        for n, p in model.named_parameters() if not torch.equal(p, before[n])
    }
    return losses, changed


@pytest.fixture
def small_train_batch():
    """``small_train_batch(num_images=2, size=64, num_classes=1000)``: the
    ``inputs``/``data_samples`` dict of uint8 images a data loader gives."""
    return _train_batch


@pytest.fixture
def take_train_step():
    """``take_train_step(cfg, batch)`` builds ``cfg.model`` and its
    ``cfg.optim_wrapper`` (fp32), takes one step and returns the logged
    losses and the names of the parameters the step changed."""
    return _train_step
