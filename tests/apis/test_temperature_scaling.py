"""Temperature scaling: the fit against a grid search, and what it does
to synthetic over-confident logits."""
import numpy as np
import pytest
import torch

from shike_mm.apis.plots import plot_reliability_diagram
from shike_mm.apis.temperature_scaling import (calibration_metrics,
                                               fit_temperature,
                                               nll_at_temperature)

NUM_CLASSES = 5


def _calibrated(num_samples, seed):
    """Logits whose softmax is the true posterior: labels are drawn from
    it."""
    generator = torch.Generator().manual_seed(seed)
    logits = 2.0 * torch.randn(
        num_samples, NUM_CLASSES, generator=generator, dtype=torch.float64)
    labels = torch.multinomial(
        torch.softmax(logits, dim=1), 1, generator=generator)[:, 0]
    return logits, labels


def _numpy_nll(logits, labels, temperature):
    z = logits.numpy() / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(z)), labels.numpy()].mean()


def test_fit_matches_a_grid_search():
    logits, labels = _calibrated(2000, seed=0)
    logits = logits * 2.5  # over-confident
    grid = np.exp(np.linspace(np.log(0.5), np.log(10), 1201))
    best = grid[np.argmin([_numpy_nll(logits, labels, t) for t in grid])]
    fitted = fit_temperature(logits, labels)
    assert fitted == pytest.approx(best, rel=3e-3)
    assert nll_at_temperature(logits, labels, fitted) <= \
        _numpy_nll(logits, labels, best) + 1e-9


def test_scaling_over_confident_logits_lowers_nll_and_ece():
    fit_logits, fit_labels = _calibrated(4000, seed=1)
    test_logits, test_labels = _calibrated(4000, seed=2)
    temperature = fit_temperature(3.0 * fit_logits, fit_labels)
    assert temperature == pytest.approx(3.0, rel=0.1)
    before = calibration_metrics(3.0 * test_logits, test_labels)
    after = calibration_metrics(3.0 * test_logits / temperature, test_labels)
    assert after['nll'] < before['nll'] - 0.1
    assert after['ece'] < before['ece'] / 3
    assert after['brier'] < before['brier']
    assert after['top1'] == before['top1']


def test_calibrated_logits_keep_a_temperature_near_one():
    logits, labels = _calibrated(4000, seed=3)
    assert fit_temperature(logits, labels) == pytest.approx(1.0, rel=0.1)


def test_reliability_diagram_is_a_png(tmp_path):
    logits, labels = _calibrated(300, seed=4)
    out = tmp_path / 'reliability.png'
    plot_reliability_diagram(
        {
            'before': (3 * logits, labels),
            'after': (logits, labels)
        }, str(out))
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
