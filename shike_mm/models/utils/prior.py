"""Class priors: checking them, their logarithms, and estimating a test
prior from unlabelled predictions (Saerens et al., 2002)."""
import json
from typing import NamedTuple, Optional, Sequence, Union

import torch

#: How far from 1 a prior may sum (rounding in a JSON file or a config).
PRIOR_SUM_TOLERANCE = 1e-4
#: What a model's scores are a posterior under: ``'train'`` for a model
#: trained with plain cross-entropy on the training prior, ``'balanced'``
#: for one trained to be balanced (Balanced Softmax, logit-adjusted losses,
#: SHIKE after stage 2), whose scores assume a uniform prior.
TRAINED_ON = ('train', 'balanced')


def check_prior(prior: Union[Sequence[float], torch.Tensor],
                name: str,
                num_classes: Optional[int] = None) -> torch.Tensor:
    """A class prior as a float64 tensor, checked.

    Args:
        prior (Sequence[float] | Tensor): ``[C]`` probabilities.
        name (str): What the prior is, for error messages (e.g.
            ``'TargetPriorAdjustment.target_prior'``).
        num_classes (int, optional): The expected length ``C``. Defaults to
            None (any length).

    Returns:
        Tensor: ``[C]`` float64 prior.

    Raises:
        ValueError: If it is not one-dimensional, has the wrong length, an
            entry that is negative or not finite, or does not sum to 1
            (within :data:`PRIOR_SUM_TOLERANCE`).
    """
    prior = torch.as_tensor(prior, dtype=torch.float64).detach().cpu()
    if prior.dim() != 1 or not len(prior):
        raise ValueError(f'{name} must be a list of probabilities, got '
                         f'shape {tuple(prior.shape)}')
    if num_classes is not None and len(prior) != num_classes:
        raise ValueError(f'{name} has {len(prior)} entries, expected '
                         f'{num_classes}')
    if not torch.isfinite(prior).all() or (prior < 0).any():
        raise ValueError(f'{name} must hold finite non-negative '
                         f'probabilities, got {prior.tolist()}')
    total = float(prior.sum())
    if abs(total - 1.0) > PRIOR_SUM_TOLERANCE:
        raise ValueError(f'{name} must sum to 1, but sums to {total:.6g}')
    return prior


def load_prior(prior: Union[str, Sequence[float]],
               name: str,
               num_classes: Optional[int] = None,
               key: str = 'prior') -> torch.Tensor:
    """A prior given as a list, or as a JSON file with the list under
    ``key``, checked by :func:`check_prior`.

    Args:
        prior (Sequence[float] | str): ``[C]`` probabilities, or a JSON file
            such as ``tools/analysis_tools/prior_shift_eval.py
            --estimate-prior`` writes (``prior``) or
            ``tools/analysis_tools/expert_aggregation.py`` writes
            (``weights``).
        name (str): What the prior is, for error messages.
        num_classes (int, optional): The expected length. Defaults to None.
        key (str): The key of the list in a JSON file. Defaults to
            ``'prior'``.
    """
    if isinstance(prior, str):
        try:
            with open(prior) as f:
                prior = json.load(f)[key]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f'{name}={prior!r}: not a JSON file with a "{key}" list '
                f'({type(error).__name__}: {error})') from error
    return check_prior(prior, name, num_classes)


def log_prior_from_counts(
        counts: Union[Sequence[int], torch.Tensor]) -> torch.Tensor:
    """``log(n_c / sum(n))`` of per-class training counts, float64 ``[C]``.

    Args:
        counts (Sequence[int] | Tensor): ``[C]`` positive counts.

    Raises:
        ValueError: If a count is not positive.
    """
    counts = torch.as_tensor(counts, dtype=torch.float64).detach().cpu()
    if counts.dim() != 1 or not len(counts) or not (counts > 0).all():
        raise ValueError(
            f'Class counts must be positive, got {counts.tolist()}')
    return counts.log() - counts.sum().log()


def source_log_prior(trained_on: str, log_train_prior: Optional[torch.Tensor],
                     num_classes: int) -> torch.Tensor:
    """The log prior a model's scores assume: the training prior, or
    uniform (zeros; a constant does not change a softmax).

    Args:
        trained_on (str): One of :data:`TRAINED_ON`.
        log_train_prior (Tensor, optional): ``[C]`` log training prior,
            needed for ``'train'``.
        num_classes (int): ``C``.
    """
    if trained_on not in TRAINED_ON:
        raise ValueError(
            f'trained_on must be one of {TRAINED_ON}, got {trained_on!r}')
    if trained_on == 'balanced':
        return torch.zeros(num_classes, dtype=torch.float64)
    if log_train_prior is None:
        raise ValueError("trained_on='train' needs the training prior")
    return log_train_prior


class EMPrior(NamedTuple):
    """A test prior estimated by :func:`estimate_prior_em`.

    Attributes:
        prior (Tensor): ``[C]`` float64 estimate.
        iterations (int): EM steps taken.
        converged (bool): Whether the last step changed no class's prior by
            more than the tolerance (else the iteration cap stopped it).
    """
    prior: torch.Tensor
    iterations: int
    converged: bool


def estimate_prior_em(logits: torch.Tensor,
                      log_source_prior: torch.Tensor,
                      tol: float = 1e-6,
                      max_iter: int = 1000) -> EMPrior:
    """Estimate the class prior of unlabelled samples by EM (Saerens,
    Latinne and Decaestecker, Neural Computation 14(1), 2002).

    With ``pi`` the prior the model's posteriors assume, start at
    ``q = pi`` and repeat

    - E-step: ``p(y | x) = softmax(f(x) + log q - log pi)``;
    - M-step: ``q_y = mean over x of p(y | x)``;

    until no ``q_y`` changes by more than ``tol`` or after ``max_iter``
    steps. Each step does not decrease the likelihood of the samples
    under the prior ``q``. The estimate is only as good as the posteriors
    are calibrated.

    Args:
        logits (Tensor): ``[N, C]`` logits ``f`` of the samples.
        log_source_prior (Tensor): ``[C]`` ``log pi`` (see
            :func:`source_log_prior`).
        tol (float): Stopping tolerance on the largest change of a class's
            prior. Defaults to 1e-6.
        max_iter (int): Iteration cap. Defaults to 1000.

    Returns:
        EMPrior: The estimate, the number of steps and whether it
        converged.
    """
    if tol <= 0 or max_iter < 1:
        raise ValueError(f'EM needs tol > 0 and max_iter >= 1, got tol={tol}, '
                         f'max_iter={max_iter}')
    if logits.dim() != 2 or not len(logits):
        raise ValueError(f'EM needs [N, C] logits, got {tuple(logits.shape)}')
    logits = logits.detach().to(torch.float64).cpu()
    log_pi = log_source_prior.to(torch.float64).cpu()
    # Posteriors under pi, as logits; q starts at pi.
    base = torch.log_softmax(logits, dim=1) - log_pi
    log_q = torch.log_softmax(log_pi, dim=0)
    for iteration in range(1, max_iter + 1):
        new_q = torch.softmax(base + log_q, dim=1).mean(dim=0)
        change = float((new_q - log_q.exp()).abs().max())
        log_q = new_q.log()
        if change <= tol:
            return EMPrior(new_q, iteration, True)
    return EMPrior(log_q.exp(), max_iter, False)
