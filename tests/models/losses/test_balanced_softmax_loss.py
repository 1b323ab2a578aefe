"""BalancedSoftmaxLoss against the float64 loop reference of spec 3.2."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from shike_mm.models.losses import BalancedSoftmaxLoss

COUNTS = torch.tensor([500.0, 120.0, 40.0, 9.0, 5.0])


def _value_and_grad(loss_fn, logits):
    value = loss_fn(logits)
    (grad, ) = torch.autograd.grad(value, logits)
    return value, grad


@pytest.mark.parametrize('num_experts', [1, 3])
def test_value_and_grad_match_reference(reference, num_experts):
    logits = reference.cosine_logits(num_experts, 6, 5, seed=num_experts)
    target = torch.tensor([0, 1, 2, 3, 4, 4])
    loss = BalancedSoftmaxLoss(loss_weight=0.5)
    value, grad = _value_and_grad(lambda z: loss(z, target, COUNTS), logits)
    expected, expected_grad = _value_and_grad(
        lambda z: reference.balanced_softmax(z, target, COUNTS, weight=0.5),
        logits)
    torch.testing.assert_close(value, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-12)


def test_uniform_counts_give_cross_entropy(reference):
    logits = reference.cosine_logits(2, 4, 5).detach()
    target = torch.tensor([0, 1, 2, 3])
    value = BalancedSoftmaxLoss()(logits, target, torch.full((5, ), 7.0))
    expected = sum(F.cross_entropy(z, target) for z in logits)
    torch.testing.assert_close(value, expected)


def test_single_expert_logits_may_be_2d(reference):
    logits = reference.cosine_logits(1, 4, 5).detach()
    target = torch.tensor([0, 1, 2, 3])
    loss = BalancedSoftmaxLoss()
    torch.testing.assert_close(
        loss(logits[0], target, COUNTS), loss(logits, target, COUNTS))


def test_class_without_samples_keeps_loss_finite(reference):
    logits = reference.cosine_logits(2, 4, 5)
    target = torch.tensor([0, 1, 2, 3])
    counts = torch.tensor([10.0, 5.0, 3.0, 2.0, 0.0])
    value, grad = _value_and_grad(
        lambda z: BalancedSoftmaxLoss()(z, target, counts), logits)
    assert torch.isfinite(value)
    assert torch.isfinite(grad).all()
    assert torch.all(grad[..., 4] == 0)


def test_rejects_counts_of_wrong_length():
    with pytest.raises(ValueError, match='class_counts'):
        BalancedSoftmaxLoss()(torch.zeros(2, 4, 5),
                              torch.zeros(4, dtype=torch.long), torch.ones(4))


def _per_expert_tau_reference(z, y, counts, taus):
    """sum_m mean_b -log softmax(z[m, b] + tau_m log n)[y_b], per sample."""
    total = z.new_zeros(())
    for m, tau in enumerate(taus):
        for b in range(z.shape[1]):
            shifted = z[m, b] + tau * torch.log(counts.to(z))
            total = total - torch.log_softmax(shifted, dim=0)[int(y[b])]
    return total / z.shape[1]


def test_default_loss_is_bit_identical_to_shike(reference):
    """Without expert_taus the loss is computed exactly as before the
    option existed (the official recipe)."""
    logits = reference.cosine_logits(3, 6, 5, seed=7).float()
    target = torch.tensor([0, 1, 2, 3, 4, 4])
    counts = COUNTS.float()
    before = F.cross_entropy(
        (logits + counts.log()).reshape(-1, 5),
        target.repeat(3),
        reduction='sum') / 6
    assert torch.equal(BalancedSoftmaxLoss()(logits, target, counts), before)


def test_per_expert_taus_match_reference(reference):
    logits = reference.cosine_logits(3, 6, 5, seed=3)
    target = torch.tensor([0, 1, 2, 3, 4, 4])
    taus = (0.0, 1.0, 2.0)
    loss = BalancedSoftmaxLoss(expert_taus=taus)
    value, grad = _value_and_grad(lambda z: loss(z, target, COUNTS), logits)
    expected, expected_grad = _value_and_grad(
        lambda z: _per_expert_tau_reference(z, target, COUNTS, taus), logits)
    torch.testing.assert_close(value, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-12)
    # tau = 0 is plain cross-entropy on that expert.
    plain = BalancedSoftmaxLoss(expert_taus=(0.0, ))
    torch.testing.assert_close(
        plain(logits[:1], target, COUNTS), F.cross_entropy(logits[0], target))


def test_tau_zero_ignores_a_class_without_samples(reference):
    logits = reference.cosine_logits(2, 4, 5)
    counts = torch.tensor([10.0, 5.0, 3.0, 2.0, 0.0])
    value = BalancedSoftmaxLoss(expert_taus=(0.0,
                                             1.0))(logits,
                                                   torch.tensor([0, 1, 2, 3]),
                                                   counts)
    assert torch.isfinite(value)


def test_expert_taus_are_checked():
    with pytest.raises(ValueError, match='non-negative'):
        BalancedSoftmaxLoss(expert_taus=(1.0, -1.0))
    with pytest.raises(
            ValueError, match='expert_taus has 2 entries for 3 '
            'experts'):
        BalancedSoftmaxLoss(expert_taus=(0.0, 1.0))(torch.zeros(3, 4, 5),
                                                    torch.zeros(
                                                        4, dtype=torch.long),
                                                    torch.ones(5))


def _logit_adjusted_reference(z, y, counts, tau):
    """LIFT's loss (Menon et al. 2021): mean_b -log softmax(z_b + tau *
    log(n / N))[y_b], with the prior, not the counts."""
    log_prior = torch.log(counts.to(z) / counts.to(z).sum())
    total = z.new_zeros(())
    for b in range(z.shape[0]):
        total = total - torch.log_softmax(
            z[b] + tau * log_prior, dim=0)[int(y[b])]
    return total / z.shape[0]


@pytest.mark.parametrize('tau', [0.5, 1.0, 2.0])
def test_logit_adjusted_loss_is_lift_loss(reference, tau):
    """The class registered as LogitAdjustedLoss adds tau * log(n), which
    differs from LIFT's tau * log(pi) by a constant per sample: value and
    gradient agree in float64."""
    init_default_scope('mmpretrain')
    loss = MODELS.build(dict(type='LogitAdjustedLoss', tau=tau))
    assert isinstance(loss, BalancedSoftmaxLoss)
    logits = reference.cosine_logits(1, 6, 5, seed=11)[0]
    target = torch.tensor([0, 1, 2, 3, 4, 4])
    value, grad = _value_and_grad(lambda z: loss(z, target, COUNTS), logits)
    expected, expected_grad = _value_and_grad(
        lambda z: _logit_adjusted_reference(z, target, COUNTS, tau), logits)
    torch.testing.assert_close(value, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-10, atol=1e-12)


def test_tau_applies_to_every_expert(reference):
    logits = reference.cosine_logits(3, 6, 5, seed=5).detach()
    target = torch.tensor([0, 1, 2, 3, 4, 4])
    torch.testing.assert_close(
        BalancedSoftmaxLoss(tau=2.0)(logits, target, COUNTS),
        BalancedSoftmaxLoss(expert_taus=(2.0, 2.0, 2.0))(logits, target,
                                                         COUNTS))


def test_tau_is_checked():
    with pytest.raises(ValueError, match='tau must be a non-negative'):
        BalancedSoftmaxLoss(tau=-1.0)
    with pytest.raises(ValueError, match='not both'):
        BalancedSoftmaxLoss(tau=2.0, expert_taus=(1.0, ))
