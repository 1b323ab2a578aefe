"""MutualKDLoss against the float64 loop reference of spec 3.1."""
import pytest
import torch

from shike_mm.models.losses import MutualKDLoss


def _value_and_grad(loss_fn, logits):
    value = loss_fn(logits)
    (grad, ) = torch.autograd.grad(value, logits)
    return value, grad


@pytest.mark.parametrize('num_experts', [2, 3, 4])
@pytest.mark.parametrize('reduction', ['mean', 'batchmean'])
@pytest.mark.parametrize('detach_teacher', [False, True])
def test_value_and_grad_match_reference(reference, num_experts, reduction,
                                        detach_teacher):
    logits = reference.cosine_logits(num_experts, 4, 6, seed=num_experts)
    loss = MutualKDLoss(
        loss_weight=1.0, reduction=reduction, detach_teacher=detach_teacher)
    value, grad = _value_and_grad(loss, logits)
    expected, expected_grad = _value_and_grad(
        lambda z: reference.mutual_kd(
            z, reduction=reduction, detach_teacher=detach_teacher), logits)
    torch.testing.assert_close(value, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-12)


def test_counts_both_directions_of_each_pair(reference):
    logits = reference.cosine_logits(2, 3, 5, seed=7).detach()
    one_way = reference.mutual_kd(logits[[0, 1]]) / 2
    value = MutualKDLoss()(logits)
    assert not torch.allclose(value, one_way)  # KL is not symmetric
    torch.testing.assert_close(value, reference.mutual_kd(logits))


def test_detached_teacher_changes_the_gradient(reference):
    logits = reference.cosine_logits(3, 4, 6, seed=8)
    _, attached = _value_and_grad(MutualKDLoss(), logits)
    _, detached = _value_and_grad(MutualKDLoss(detach_teacher=True), logits)
    assert not torch.allclose(attached, detached)


def test_single_expert_gives_zero(reference):
    logits = reference.cosine_logits(1, 4, 6)
    value, grad = _value_and_grad(MutualKDLoss(), logits)
    assert value.item() == 0
    assert torch.all(grad == 0)


def test_half_precision_logits_give_float32_loss(reference):
    logits = reference.cosine_logits(3, 4, 6, seed=9).detach()
    value = MutualKDLoss()(logits.half())
    assert value.dtype == torch.float32
    expected = reference.mutual_kd(logits.half().double())
    torch.testing.assert_close(value.double(), expected, rtol=1e-5, atol=0)


def test_rejects_wrong_inputs():
    with pytest.raises(ValueError, match=r'\[M, B, C\]'):
        MutualKDLoss()(torch.zeros(4, 6))
    with pytest.raises(ValueError, match='reduction'):
        MutualKDLoss(reduction='none')
