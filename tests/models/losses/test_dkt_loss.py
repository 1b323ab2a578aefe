"""DKTLoss against the float64 loop reference of spec 3.1."""
import pytest
import torch
import torch.nn.functional as F

from shike_mm.models.losses import DKTLoss


def _value_and_grad(loss_fn, logits):
    value = loss_fn(logits)
    (grad, ) = torch.autograd.grad(value, logits)
    return value, grad


def _assert_matches(loss, expected_fn, logits):
    value, grad = _value_and_grad(loss, logits)
    expected, expected_grad = _value_and_grad(expected_fn, logits)
    torch.testing.assert_close(value, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize('num_experts', [1, 2, 3, 4])
@pytest.mark.parametrize('reduction', ['mean', 'batchmean'])
def test_value_and_grad_match_reference(reference, num_experts, reduction):
    logits = reference.cosine_logits(num_experts, 5, 7, seed=num_experts)
    target = torch.tensor([0, 3, 6, 3, 1])
    loss = DKTLoss(loss_weight=10.0, scale=30.0, reduction=reduction)
    _assert_matches(lambda z: loss(z, target),
                    lambda z: reference.dkt(z, target, reduction=reduction),
                    logits)


def test_batchmean_is_mean_times_num_classes(reference):
    logits = reference.cosine_logits(3, 4, 6)
    target = torch.tensor([1, 2, 3, 4])
    mean = DKTLoss(reduction='mean')(logits, target)
    batchmean = DKTLoss(
        loss_weight=10.0 / 6, reduction='batchmean')(logits, target)
    torch.testing.assert_close(mean, batchmean)


def test_other_scale_masks_with_minus_scale(reference):
    logits = reference.cosine_logits(3, 4, 6, scale=16.0)
    target = torch.tensor([5, 0, 2, 2])
    _assert_matches(lambda z: DKTLoss(scale=16.0)(z, target),
                    lambda z: reference.dkt(z, target, scale=16.0), logits)


def test_teacher_takes_mean_at_hardest_negative_and_zero_at_target():
    # Target 0. Non-target means [2, 7, 0] pick class 2 as the hardest
    # negative although class 1 has the largest max (20).
    logits = torch.tensor([[[5.0, 20.0, 6.0, 0.0]], [[5.0, -16.0, 8.0, 0.0]]])
    target_mask = torch.tensor([[True, False, False, False]])
    teacher = DKTLoss().teacher_logits(logits, target_mask)
    torch.testing.assert_close(teacher, torch.tensor([[0.0, 20.0, 7.0, 0.0]]))


@pytest.mark.parametrize('variant', [
    dict(hardest_value='max'),
    dict(teacher_target='masked'),
    dict(student_target='kept'),
])
def test_reference_variants_are_told_apart(reference, variant):
    """Each quirk changes the value, so the match above pins it down.

    Small logits (as early in training) keep the teacher's target mass
    visible next to the non-targets.
    """
    logits = reference.cosine_logits(3, 4, 6, seed=1, scale=3.0)
    target = torch.tensor([0, 1, 2, 3])
    value = DKTLoss()(logits, target)
    faithful = reference.dkt(logits, target)
    wrong = reference.dkt(logits, target, **variant)
    torch.testing.assert_close(value, faithful)
    assert not torch.allclose(value, wrong, rtol=1e-6)


def test_gradient_reaches_experts_through_teacher(reference):
    logits = reference.cosine_logits(3, 4, 6, seed=2)
    target = torch.tensor([0, 1, 2, 3])
    _assert_matches(lambda z: DKTLoss(detach_teacher=True)(z, target),
                    lambda z: reference.dkt(z, target, detach_teacher=True),
                    logits)
    _, attached = _value_and_grad(lambda z: DKTLoss()(z, target), logits)
    _, detached = _value_and_grad(
        lambda z: DKTLoss(detach_teacher=True)(z, target), logits)
    assert not torch.allclose(attached, detached)


def test_student_target_logit_gets_no_gradient(reference):
    logits = reference.cosine_logits(2, 3, 5, seed=3)
    target = torch.tensor([4, 0, 2])
    _, grad = _value_and_grad(
        lambda z: DKTLoss(detach_teacher=True)(z, target), logits)
    target_mask = F.one_hot(target, 5).bool().expand_as(grad)
    assert torch.all(grad[target_mask] == 0)
    assert torch.any(grad[~target_mask] != 0)


def test_half_precision_logits_give_float32_loss(reference):
    logits = reference.cosine_logits(3, 4, 6, seed=4).detach()
    target = torch.tensor([0, 1, 2, 3])
    value = DKTLoss()(logits.half(), target)
    assert value.dtype == torch.float32
    expected = reference.dkt(logits.half().double(), target)
    torch.testing.assert_close(value.double(), expected, rtol=1e-5, atol=0)


def test_rejects_wrong_inputs():
    with pytest.raises(ValueError, match=r'\[M, B, C\]'):
        DKTLoss()(torch.zeros(4, 6), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match='hard labels'):
        DKTLoss()(torch.zeros(2, 4, 6), torch.zeros(4, 6))
    with pytest.raises(ValueError, match='reduction'):
        DKTLoss(reduction='sum')
