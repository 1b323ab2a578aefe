"""Test-time self-supervised aggregation of experts (SADE, Zhang et al.,
NeurIPS 2022): learn expert weights on unlabelled test images by making
the aggregated prediction agree across two augmented views."""
from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Tuple

import torch
import torch.nn.functional as F


@dataclass
class AggregationResult:
    """Learned expert weights.

    Attributes:
        weights (list[float]): ``M`` weights summing to 1.
        history (list[dict]): Per epoch: ``weights`` and the mean
            ``similarity`` of its batches.
        stopped_early (bool): Whether a weight fell below the floor, which
            stops the learning (SADE's guard against collapse).
    """
    weights: List[float]
    history: List[dict] = field(default_factory=list)
    stopped_early: bool = False


def view_agreement(weight_logits: torch.Tensor, view1: torch.Tensor,
                   view2: torch.Tensor) -> torch.Tensor:
    """Mean cosine similarity of the aggregated predictions of two views.

    With ``w = softmax(weight_logits)``, each view's prediction is
    ``softmax(sum_m w_m z_m)``; SADE maximises the similarity of the two.

    Args:
        weight_logits (Tensor): ``[M]`` unnormalised weights.
        view1 (Tensor): ``[M, B, C]`` expert logits of the first views.
        view2 (Tensor): ``[M, B, C]`` expert logits of the second views.

    Returns:
        Tensor: The scalar mean similarity.
    """
    weights = torch.softmax(weight_logits, dim=0)
    predictions = [
        F.softmax(torch.einsum('m,mbc->bc', weights.to(view), view), dim=1)
        for view in (view1, view2)
    ]
    return F.cosine_similarity(*predictions, dim=1, eps=1e-6).mean()


def learn_expert_weights(epoch_batches: Callable[[int], Iterable[Tuple[
    torch.Tensor, torch.Tensor]]],
                         num_experts: int,
                         epochs: int = 5,
                         lr: float = 0.1,
                         momentum: float = 0.9,
                         weight_decay: float = 5e-4,
                         min_weight: float = 0.05) -> AggregationResult:
    """Learn expert weights by maximising :func:`view_agreement`.

    As SADE's test-time training: the weights start equal, are the softmax
    of ``M`` parameters trained by SGD with Nesterov momentum (SADE's
    CIFAR settings are the defaults), and learning stops after an epoch
    that leaves a weight below ``min_weight``.

    Args:
        epoch_batches (Callable): ``epoch_batches(epoch)`` yields one
            epoch's ``(view1, view2)`` batches of expert logits
            ``[M, B, C]``.
        num_experts (int): ``M``.
        epochs (int): At most this many epochs. Defaults to 5.
        lr (float): Learning rate. Defaults to 0.1.
        momentum (float): Nesterov momentum. Defaults to 0.9.
        weight_decay (float): Weight decay. Defaults to 5e-4.
        min_weight (float): The floor that stops learning. Defaults to
            0.05.

    Returns:
        AggregationResult: The weights and their history.
    """
    weight_logits = torch.full((num_experts, ),
                               1.0 / num_experts,
                               dtype=torch.float64,
                               requires_grad=True)
    optimizer = torch.optim.SGD([weight_logits],
                                lr=lr,
                                momentum=momentum,
                                weight_decay=weight_decay,
                                nesterov=True)
    result = AggregationResult(weights=[1.0 / num_experts] * num_experts)
    for epoch in range(epochs):
        similarities = []
        for view1, view2 in epoch_batches(epoch):
            similarity = view_agreement(weight_logits, view1.double(),
                                        view2.double())
            optimizer.zero_grad()
            (-similarity).backward()
            optimizer.step()
            similarities.append(float(similarity.detach()))
        weights = torch.softmax(weight_logits.detach(), dim=0)
        result.weights = weights.tolist()
        result.history.append(
            dict(
                weights=result.weights,
                similarity=sum(similarities) / max(len(similarities), 1)))
        if (weights < min_weight).any():
            result.stopped_early = True
            break
    return result
