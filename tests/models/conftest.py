"""Independent float64 references for the SHIKE losses, written from the
spec formulas with explicit loops (readable, slow, never vectorised), and
the reference of LIFT's model (``lift_reference.py``)."""
import importlib.util
import os.path as osp
from types import SimpleNamespace

import pytest
import torch


def log_softmax_1d(values):
    shift = values.max().detach()
    return values - shift - torch.log(torch.exp(values - shift).sum())


def kl_1d(log_p, log_q):
    """KL(p || q) of two distributions over the classes, given as logs."""
    return sum(
        torch.exp(log_p[c]) * (log_p[c] - log_q[c])
        for c in range(log_p.numel()))


def cross_entropy(z, y):
    """sum_m mean_b -log softmax(z[m, b])[y_b]."""
    num_experts, batch_size, _ = z.shape
    total = z.new_zeros(())
    for m in range(num_experts):
        for b in range(batch_size):
            total = total - log_softmax_1d(z[m, b])[int(y[b])]
    return total / batch_size


def dkt(z,
        y,
        scale=30.0,
        weight=10.0,
        reduction='mean',
        detach_teacher=False,
        hardest_value='mean',
        teacher_target='zero',
        student_target='masked'):
    """SHIKE's DKT loss (spec 3.1 steps 1-4).

    The last three arguments select deliberately wrong variants, to show the
    tests can tell them apart: ``hardest_value='max'``,
    ``teacher_target='masked'`` (-scale instead of 0) and
    ``student_target='kept'`` (no -scale mask).
    """
    num_experts, batch_size, num_classes = z.shape
    total = z.new_zeros(())
    for b in range(batch_size):
        target = int(y[b])
        expert_mean = [
            sum(z[m, b, c] for m in range(num_experts)) / num_experts
            for c in range(num_classes)
        ]
        # Consensus hardest negative: argmax of the mean over non-targets.
        hardest = max((c for c in range(num_classes) if c != target),
                      key=lambda c: expert_mean[c].item())
        teacher = []
        for c in range(num_classes):
            expert_max = max((z[m, b, c] for m in range(num_experts)),
                             key=lambda value: value.item())
            if c == target:
                teacher.append(
                    z.new_tensor(0.0 if teacher_target == 'zero' else -scale))
            elif c == hardest:
                teacher.append(expert_mean[c] if hardest_value ==
                               'mean' else expert_max)
            else:
                teacher.append(expert_max)
        teacher = torch.stack(teacher)
        if detach_teacher:
            teacher = teacher.detach()
        log_p = log_softmax_1d(teacher)
        for m in range(num_experts):
            student = torch.stack([
                z.new_tensor(-scale) if
                (c == target and student_target == 'masked') else z[m, b, c]
                for c in range(num_classes)
            ])
            total = total + kl_1d(log_p, log_softmax_1d(student))
    denominator = batch_size * num_classes if reduction == 'mean' \
        else batch_size
    return weight * total / denominator


def mutual_kd(z, weight=1.0, reduction='mean', detach_teacher=False):
    """sum over ordered pairs i != j of KL(softmax(z_j) || softmax(z_i))."""
    num_experts, batch_size, num_classes = z.shape
    total = z.new_zeros(())
    for i in range(num_experts):
        for j in range(num_experts):
            if i == j:
                continue
            for b in range(batch_size):
                log_teacher = log_softmax_1d(z[j, b])
                if detach_teacher:
                    log_teacher = log_teacher.detach()
                total = total + kl_1d(log_teacher, log_softmax_1d(z[i, b]))
    denominator = batch_size * num_classes if reduction == 'mean' \
        else batch_size
    return weight * total / denominator


def balanced_softmax(z, y, counts, weight=1.0):
    """sum_m mean_b -log softmax(z[m, b] + log n)[y_b]."""
    num_experts, batch_size, _ = z.shape
    total = z.new_zeros(())
    for m in range(num_experts):
        for b in range(batch_size):
            shifted = z[m, b] + torch.log(counts.to(z))
            total = total - log_softmax_1d(shifted)[int(y[b])]
    return weight * total / batch_size


def cosine_logits(num_experts, batch_size, num_classes, seed=0, scale=30.0):
    """Random float64 logits in [-scale, scale] that require grad."""
    generator = torch.Generator().manual_seed(seed)
    logits = scale * (2 * torch.rand(
        num_experts,
        batch_size,
        num_classes,
        generator=generator,
        dtype=torch.float64) - 1)
    return logits.requires_grad_()


@pytest.fixture
def reference():
    """The reference losses and a random-logit factory."""
    return SimpleNamespace(
        cross_entropy=cross_entropy,
        dkt=dkt,
        mutual_kd=mutual_kd,
        balanced_softmax=balanced_softmax,
        cosine_logits=cosine_logits)


@pytest.fixture(scope='session')
def lift_reference():
    """The float64 reference of LIFT's model (``lift_reference.py``)."""
    spec = importlib.util.spec_from_file_location(
        'lift_reference', osp.join(osp.dirname(__file__), 'lift_reference.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
