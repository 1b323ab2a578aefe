"""Accuracy under test-prior shift: one model's logits on a balanced test
split, re-sampled to the 11 test priors of SADE's protocol, with four
ways to predict."""
from typing import Dict, List, Sequence

import numpy as np
import torch

from shike_mm.datasets.prior_shift_dataset import (TEST_PRIORS,
                                                   class_order_from_counts,
                                                   prior_shift_indices)
from shike_mm.models.utils.prior import (estimate_prior_em,
                                         log_prior_from_counts,
                                         source_log_prior)

#: The predictions compared, with their titles.
METHODS = {
    'plain': 'plain (argmax f)',
    'logit_adjusted': 'logit-adjusted (f - tau log pi)',
    'known_prior': 'known test prior (f + log q - log pi_s)',
    'em_prior': 'EM-estimated prior (f + log q_EM - log pi_s)',
}


def default_trained_on(head) -> str:
    """``'balanced'`` for a SHIKE head in stage 2 (its classifiers were
    re-trained with Balanced Softmax), else ``'train'`` (plain
    cross-entropy on the training prior, as SHIKE's stage 1)."""
    stage = getattr(head, 'current_stage', None)
    return 'balanced' if stage == 2 else 'train'


def evaluate_prior_shift(logits: torch.Tensor,
                         labels: Sequence[int],
                         train_counts: Sequence[int],
                         trained_on: str,
                         tau: float = 1.0,
                         seed: int = 0,
                         em_tol: float = 1e-6,
                         em_max_iter: int = 1000) -> Dict[str, dict]:
    """Top-1 accuracy on each test prior of :data:`TEST_PRIORS`.

    The test split is re-sampled (:func:`prior_shift_indices`, classes
    ranked by ``train_counts``) and the logits ``f`` of the kept samples
    predict in four ways (:data:`METHODS`), with ``pi`` the training prior
    and ``pi_s`` the prior the scores assume (``pi`` if
    ``trained_on='train'``, uniform if ``'balanced'``):

    - ``plain``: ``argmax f``;
    - ``logit_adjusted``: ``argmax f - tau log pi``;
    - ``known_prior``: ``argmax f + log q - log pi_s`` with ``q`` the
      re-sampled split's true class frequencies (an oracle);
    - ``em_prior``: the same with ``q`` estimated from the unlabelled
      logits by EM (:func:`estimate_prior_em`).

    Args:
        logits (Tensor): ``[N, C]`` logits on the whole test split.
        labels (Sequence[int]): ``[N]`` labels.
        train_counts (Sequence[int]): ``[C]`` training counts.
        trained_on (str): ``'train'`` or ``'balanced'``.
        tau (float): Strength of the logit adjustment. Defaults to 1.0.
        seed (int): Seed of the re-sampling. Defaults to 0.
        em_tol (float): EM stopping tolerance. Defaults to 1e-6.
        em_max_iter (int): EM iteration cap. Defaults to 1000.

    Returns:
        dict[str, dict]: Per test prior name: ``imb_factor``,
        ``class_counts`` (re-sampled), ``accuracy`` (method to top-1 %),
        ``em_prior``, ``em_iterations``, ``em_converged`` and ``em_l1``
        (L1 distance of the EM estimate to the true frequencies).
    """
    logits = logits.double()
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    num_classes = logits.shape[1]
    log_pi = log_prior_from_counts(train_counts)
    log_source = source_log_prior(trained_on, log_pi, num_classes)
    order = class_order_from_counts(train_counts)
    results = {}
    for name, imb_factor in TEST_PRIORS.items():
        kept = torch.as_tensor(
            prior_shift_indices(labels.numpy(), imb_factor, num_classes, order,
                                seed))
        f, y = logits[kept], labels[kept]
        counts = torch.bincount(y, minlength=num_classes)
        true_prior = counts.double() / counts.sum()
        em = estimate_prior_em(f, log_source, em_tol, em_max_iter)
        scores = {
            'plain': f,
            'logit_adjusted': f - tau * log_pi,
            'known_prior': f + true_prior.log() - log_source,
            'em_prior': f + em.prior.log() - log_source,
        }
        results[name] = dict(
            imb_factor=imb_factor,
            class_counts=counts.tolist(),
            accuracy={
                method: 100.0 * float((s.argmax(dim=1) == y).double().mean())
                for method, s in scores.items()
            },
            em_prior=em.prior.tolist(),
            em_iterations=em.iterations,
            em_converged=em.converged,
            em_l1=float((em.prior - true_prior).abs().sum()))
    return results


def summarise(runs: List[Dict[str, dict]]) -> Dict[str, dict]:
    """Mean and standard deviation (``ddof=1``; 0 for one run) of each
    method's accuracy on each test prior over several models.

    Args:
        runs (list[dict]): Results of :func:`evaluate_prior_shift` on the
            same test split.

    Returns:
        dict: Test prior name to ``num_samples`` (of the re-sampled split)
        and ``accuracy``, method to ``(mean, std)``.
    """
    summary = {}
    for name in runs[0]:
        accuracy = {}
        for method in METHODS:
            values = np.array([run[name]['accuracy'][method] for run in runs])
            spread = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            accuracy[method] = (float(values.mean()), spread)
        summary[name] = dict(
            num_samples=sum(runs[0][name]['class_counts']), accuracy=accuracy)
    return summary
