"""Class priors and the EM estimate of a test prior (Saerens et al.,
2002) against synthetic data whose prior is known."""
import json
import math

import numpy as np
import pytest
import torch

from shike_mm.models.utils.prior import (check_prior, estimate_prior_em,
                                         load_prior, log_prior_from_counts,
                                         source_log_prior)

MEANS = np.array([-4.0, 0.0, 4.0])


def _gaussian_logits(target_prior, source_prior, num_samples, seed):
    """Samples of three unit Gaussians drawn with ``target_prior``, scored
    by the exact posterior logits under ``source_prior``:
    ``log N(x; mu_y, 1) + log source_prior_y``."""
    rng = np.random.RandomState(seed)
    labels = rng.choice(len(MEANS), size=num_samples, p=target_prior)
    x = rng.randn(num_samples) + MEANS[labels]
    log_likelihood = -0.5 * (x[:, None] - MEANS[None, :])**2
    return torch.tensor(log_likelihood + np.log(source_prior)), labels


@pytest.mark.parametrize('trained_on', ['train', 'balanced'])
def test_em_recovers_a_known_prior(trained_on):
    train_prior = np.array([0.7, 0.2, 0.1])
    source = train_prior if trained_on == 'train' else np.full(3, 1 / 3)
    target = np.array([0.1, 0.3, 0.6])
    logits, labels = _gaussian_logits(target, source, 40000, seed=0)
    log_source = source_log_prior(trained_on,
                                  torch.tensor(np.log(train_prior)), 3)
    em = estimate_prior_em(logits, log_source, tol=1e-8, max_iter=500)
    assert em.converged
    empirical = np.bincount(labels, minlength=3) / len(labels)
    # The sampling error of 40000 draws is about 0.003.
    np.testing.assert_allclose(em.prior.numpy(), target, atol=0.01)
    np.testing.assert_allclose(em.prior.numpy(), empirical, atol=0.01)
    assert float(em.prior.sum()) == pytest.approx(1.0, abs=1e-12)


def test_em_steps_match_a_loop_reference():
    """Two EM steps written out per sample and class, from q0 = pi."""
    torch.manual_seed(0)
    logits = torch.randn(7, 4, dtype=torch.float64) * 2
    log_pi = torch.tensor([0.5, 0.3, 0.15, 0.05], dtype=torch.float64).log()
    q = [math.exp(v) for v in log_pi.tolist()]
    for _ in range(2):
        new_q = [0.0] * 4
        for row in logits.tolist():
            # p_s(y|x) q_y / pi_y, normalised over y.
            p = [math.exp(row[c]) for c in range(4)]
            p = [v / sum(p) for v in p]
            w = [p[c] * q[c] / math.exp(log_pi[c]) for c in range(4)]
            for c in range(4):
                new_q[c] += w[c] / sum(w) / len(logits)
        q = new_q
    em = estimate_prior_em(logits, log_pi, tol=1e-12, max_iter=2)
    assert em.iterations == 2 and not em.converged
    np.testing.assert_allclose(em.prior.numpy(), q, rtol=1e-12)


def test_em_stops_at_the_tolerance_and_the_cap():
    logits, _ = _gaussian_logits(
        np.array([0.2, 0.3, 0.5]), np.full(3, 1 / 3), 500, seed=1)
    zeros = torch.zeros(3, dtype=torch.float64)
    loose = estimate_prior_em(logits, zeros, tol=1e-2, max_iter=1000)
    tight = estimate_prior_em(logits, zeros, tol=1e-10, max_iter=1000)
    assert loose.converged and tight.converged
    assert loose.iterations < tight.iterations
    capped = estimate_prior_em(logits, zeros, tol=1e-10, max_iter=3)
    assert capped.iterations == 3 and not capped.converged
    with pytest.raises(ValueError, match='tol > 0'):
        estimate_prior_em(logits, zeros, tol=0)


def test_log_prior_of_counts():
    counts = [124, 88, 6]
    expected = [math.log(c / 218) for c in counts]
    np.testing.assert_allclose(
        log_prior_from_counts(counts).numpy(), expected, rtol=1e-14)
    with pytest.raises(ValueError, match='positive'):
        log_prior_from_counts([3, 0, 1])


def test_source_prior_is_uniform_for_a_balanced_model():
    log_pi = log_prior_from_counts([5, 3, 2])
    assert torch.equal(source_log_prior('train', log_pi, 3), log_pi)
    assert torch.equal(
        source_log_prior('balanced', None, 3),
        torch.zeros(3).double())
    with pytest.raises(ValueError, match='trained_on'):
        source_log_prior('uniform', log_pi, 3)


@pytest.mark.parametrize('prior, message', [
    ([0.5, 0.4], 'must sum to 1, but sums to 0.9'),
    ([1.2, -0.2], 'non-negative'),
    ([0.5, float('nan')], 'non-negative'),
    ([[0.5, 0.5]], 'list of probabilities'),
])
def test_bad_priors_name_the_setting(prior, message):
    with pytest.raises(ValueError, match='my.prior') as error:
        check_prior(prior, 'my.prior')
    assert message in str(error.value)


def test_prior_of_the_wrong_length():
    with pytest.raises(ValueError, match='has 2 entries, expected 3'):
        check_prior([0.5, 0.5], 'my.prior', 3)


def test_load_prior_from_a_json_file(tmp_path):
    path = tmp_path / 'prior.json'
    path.write_text(json.dumps({'prior': [0.25, 0.75]}))
    assert load_prior(str(path), 'p').tolist() == [0.25, 0.75]
    path.write_text(json.dumps([0.25, 0.75]))
    with pytest.raises(ValueError, match='not a JSON file with a "prior"'):
        load_prior(str(path), 'p')
