"""MutualKDLoss against the float64 references: the loop reference of spec
3.1, ordered pairs through ``F.kl_div``, and the former ``[M, M, B, C]``
formula it replaces."""
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from shike_mm.models.losses import MutualKDLoss

VALUE_TOL = dict(rtol=1e-10, atol=1e-12)


def _value_and_grad(loss_fn, logits):
    value = loss_fn(logits)
    (grad, ) = torch.autograd.grad(value, logits)
    return value, grad


def pairwise_tensor_mkd(logits, reduction='mean', detach_teacher=False):
    """The former implementation: every ordered pair at once in an
    ``[M, M, B, C]`` tensor."""
    num_experts, batch_size, num_classes = logits.shape
    log_prob = F.log_softmax(logits, dim=-1)
    log_teacher = log_prob.detach() if detach_teacher else log_prob
    pair_kl = log_teacher.exp()[:, None] * (
        log_teacher[:, None] - log_prob[None, :])
    off_diagonal = ~torch.eye(
        num_experts, dtype=torch.bool, device=logits.device)
    kl_sum = pair_kl[off_diagonal].sum()
    if reduction == 'mean':
        return kl_sum / (batch_size * num_classes)
    return kl_sum / batch_size


def kl_div_pairs_mkd(logits, reduction='mean', detach_teacher=False):
    """Spec 3.1 as the SHIKE code writes it: ``F.kl_div(log q_i, p_j)`` for
    every ordered pair ``i != j``, with F.kl_div's own reduction."""
    total = logits.new_zeros(())
    for i, student in enumerate(logits):
        for j, teacher in enumerate(logits):
            if i == j:
                continue
            target = F.softmax(teacher, dim=1)
            if detach_teacher:
                target = target.detach()
            with warnings.catch_warnings():  # 'mean' is the point here
                warnings.filterwarnings(
                    'ignore', message="reduction: 'mean' divides")
                total = total + F.kl_div(
                    F.log_softmax(student, dim=1), target, reduction=reduction)
    return total


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
    torch.testing.assert_close(value, expected, **VALUE_TOL)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize('reference_fn',
                         [pairwise_tensor_mkd, kl_div_pairs_mkd])
@pytest.mark.parametrize('num_experts', [2, 3, 4])
@pytest.mark.parametrize('reduction', ['mean', 'batchmean'])
@pytest.mark.parametrize('detach_teacher', [False, True])
def test_closed_form_matches_pairwise_formulas(reference, reference_fn,
                                               num_experts, reduction,
                                               detach_teacher):
    logits = reference.cosine_logits(num_experts, 8, 37, seed=11)
    loss = MutualKDLoss(
        loss_weight=0.7, reduction=reduction, detach_teacher=detach_teacher)
    value, grad = _value_and_grad(loss, logits)
    expected, expected_grad = _value_and_grad(
        lambda z: 0.7 * reference_fn(
            z, reduction=reduction, detach_teacher=detach_teacher), logits)
    torch.testing.assert_close(value, expected, **VALUE_TOL)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize('detach_teacher', [False, True])
def test_saturated_cosine_logits(detach_teacher):
    """Scale-30 logits at cos = +-1: probabilities of e^-60 and experts that
    agree on some samples and disagree on others."""
    generator = torch.Generator().manual_seed(3)
    signs = torch.randint(0, 2, (3, 16, 50), generator=generator) * 2 - 1
    signs[:, :8] = signs[0, :8]  # the first 8 samples: identical experts
    logits = (30.0 * signs).double().requires_grad_()
    loss = MutualKDLoss(detach_teacher=detach_teacher)
    value, grad = _value_and_grad(loss, logits)
    expected, expected_grad = _value_and_grad(
        lambda z: pairwise_tensor_mkd(z, detach_teacher=detach_teacher),
        logits)
    assert torch.isfinite(value) and torch.isfinite(grad).all()
    torch.testing.assert_close(value, expected, **VALUE_TOL)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-10, atol=1e-13)
    # experts that agree exchange nothing
    agree = loss(logits[:, :8].detach())
    assert abs(agree.item()) < 1e-12


class _LargestTensor(TorchDispatchMode):
    """Record the largest tensor any operator returns."""

    def __init__(self):
        super().__init__()
        self.numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in (out if isinstance(out, (tuple, list)) else [out]):
            if isinstance(tensor, torch.Tensor):
                self.numel = max(self.numel, tensor.numel())
        return out


@pytest.mark.parametrize('detach_teacher', [False, True])
def test_no_tensor_grows_with_the_number_of_pairs(detach_teacher):
    logits = torch.randn(4, 8, 10, requires_grad=True)
    with _LargestTensor() as largest:
        MutualKDLoss(detach_teacher=detach_teacher)(logits).backward()
    assert largest.numel == logits.numel()
    with _LargestTensor() as largest:
        pairwise_tensor_mkd(logits).backward()
    assert largest.numel == 4 * logits.numel()  # the former [M, M, B, C]


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


def test_float32_under_cpu_autocast(reference):
    logits = reference.cosine_logits(3, 4, 6, seed=10).detach().float()
    logits.requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        value = MutualKDLoss()(logits)
    value.backward()
    assert value.dtype == torch.float32
    assert logits.grad.dtype == torch.float32
    torch.testing.assert_close(
        value.double(),
        pairwise_tensor_mkd(logits.detach().double()),
        rtol=1e-5,
        atol=0)


def test_rejects_wrong_inputs():
    with pytest.raises(ValueError, match=r'\[M, B, C\]'):
        MutualKDLoss()(torch.zeros(4, 6))
    with pytest.raises(ValueError, match='reduction'):
        MutualKDLoss(reduction='none')
