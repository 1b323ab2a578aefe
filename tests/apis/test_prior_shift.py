"""evaluate_prior_shift on synthetic logits."""
import numpy as np
import pytest
import torch

from shike_mm.apis.plots import plot_prior_shift
from shike_mm.apis.prior_shift import evaluate_prior_shift, summarise
from shike_mm.apis.tables import format_prior_shift_table
from shike_mm.datasets import TEST_PRIORS

TRAIN_COUNTS = [100, 40, 16, 6]
MEANS = np.array([-3.0, -1.0, 1.0, 3.0])


def _balanced_test_logits(trained_on, seed=0, per_class=200):
    """Exact posterior logits of 1-D Gaussians on a balanced test split,
    under the training prior or a uniform one."""
    rng = np.random.RandomState(seed)
    labels = np.repeat(np.arange(4), per_class)
    x = rng.randn(len(labels)) + MEANS[labels]
    logits = -0.5 * (x[:, None] - MEANS[None])**2
    if trained_on == 'train':
        logits = logits + np.log(np.array(TRAIN_COUNTS) / sum(TRAIN_COUNTS))
    return torch.tensor(logits), labels


def test_eleven_priors_with_their_sizes_and_methods():
    logits, labels = _balanced_test_logits('balanced')
    results = evaluate_prior_shift(logits, labels, TRAIN_COUNTS, 'balanced')
    assert list(results) == list(TEST_PRIORS)
    assert results['uniform']['class_counts'] == [200] * 4
    assert results['forward50']['class_counts'] == [200, 54, 14, 4]
    assert results['backward50']['class_counts'] == [4, 14, 54, 200]
    for entry in results.values():
        assert set(entry['accuracy']) == {
            'plain', 'logit_adjusted', 'known_prior', 'em_prior'
        }
        assert entry['em_converged']
    # A balanced model on a uniform split: the known prior is a constant.
    uniform = results['uniform']['accuracy']
    assert uniform['known_prior'] == uniform['plain']


def test_tau_zero_adjustment_is_plain():
    logits, labels = _balanced_test_logits('train')
    results = evaluate_prior_shift(
        logits, labels, TRAIN_COUNTS, 'train', tau=0.0)
    for entry in results.values():
        assert entry['accuracy']['logit_adjusted'] == \
            entry['accuracy']['plain']


def test_bayes_optimal_corrections_beat_plain_under_shift():
    """Exact posteriors: the known prior is Bayes-optimal on each split,
    logit adjustment on the uniform one."""
    logits, labels = _balanced_test_logits('train', per_class=2000)
    results = evaluate_prior_shift(logits, labels, TRAIN_COUNTS, 'train')
    for name in ('uniform', 'backward10', 'backward50'):
        accuracy = results[name]['accuracy']
        assert accuracy['known_prior'] > accuracy['plain']
        assert accuracy['em_prior'] > accuracy['plain']
    assert results['uniform']['accuracy']['logit_adjusted'] > \
        results['uniform']['accuracy']['plain']
    assert results['backward50']['em_l1'] < 0.1


def test_summary_table_and_plot(tmp_path):
    runs = [
        evaluate_prior_shift(*_balanced_test_logits('balanced', seed),
                             TRAIN_COUNTS, 'balanced') for seed in (0, 1)
    ]
    summary = summarise(runs)
    values = [run['forward10']['accuracy']['plain'] for run in runs]
    mean, spread = summary['forward10']['accuracy']['plain']
    assert mean == pytest.approx(np.mean(values))
    assert spread == pytest.approx(np.std(values, ddof=1))
    table = format_prior_shift_table(summary, 2)
    assert table.count('\n') == 12 and '±' in table
    out = tmp_path / 'prior_shift.png'
    plot_prior_shift(summary, 'synthetic', str(out))
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
