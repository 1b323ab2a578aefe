"""SADE's test-time aggregation: the view-agreement objective and the
learning of the expert weights."""
import numpy as np
import pytest
import torch

from shike_mm.apis.expert_aggregation import (learn_expert_weights,
                                              view_agreement)


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def test_view_agreement_matches_a_loop_reference():
    generator = torch.Generator().manual_seed(0)
    view1 = torch.randn(3, 4, 5, generator=generator, dtype=torch.float64)
    view2 = torch.randn(3, 4, 5, generator=generator, dtype=torch.float64)
    weight_logits = torch.tensor([0.2, -0.1, 0.5], dtype=torch.float64)
    w = _softmax(weight_logits.numpy())
    similarities = []
    for b in range(4):
        p1 = _softmax(sum(w[m] * view1[m, b].numpy() for m in range(3)))
        p2 = _softmax(sum(w[m] * view2[m, b].numpy() for m in range(3)))
        similarities.append(p1 @ p2 / np.linalg.norm(p1) / np.linalg.norm(p2))
    assert float(view_agreement(weight_logits, view1, view2)) == \
        pytest.approx(np.mean(similarities), rel=1e-12)


def _views(consistent_expert, seed):
    """Expert logits of two views: one expert gives both views the same
    confident logits, the others independent noise."""
    generator = torch.Generator().manual_seed(seed)
    shared = 5 * torch.randn(16, 4, generator=generator, dtype=torch.float64)
    views = []
    for _ in range(2):
        view = 5 * torch.randn(
            3, 16, 4, generator=generator, dtype=torch.float64)
        view[consistent_expert] = shared
        views.append(view)
    return views


def test_weights_move_to_the_expert_whose_views_agree():
    result = learn_expert_weights(
        lambda epoch:
        [_views(1, seed) for seed in range(epoch * 8, epoch * 8 + 8)],
        num_experts=3,
        epochs=5,
        lr=0.5,
        min_weight=0.0)
    assert len(result.history) == 5 and not result.stopped_early
    assert result.weights[1] > 0.5
    assert sum(result.weights) == pytest.approx(1.0)
    similarities = [record['similarity'] for record in result.history]
    assert similarities[-1] > similarities[0]


def test_learning_stops_when_a_weight_falls_below_the_floor():
    result = learn_expert_weights(
        lambda epoch: [_views(1, seed) for seed in range(8)],
        num_experts=3,
        epochs=50,
        lr=0.5,
        min_weight=0.2)
    assert result.stopped_early
    assert min(result.weights) < 0.2
    assert len(result.history) < 50
