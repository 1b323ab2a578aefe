"""The logit post-processors against the formulas, written out per class."""
import math

import pytest
import torch
from mmpretrain.registry import MODELS

from shike_mm.models.post_processors import (LogitAdjustment,
                                             PostProcessorChain,
                                             TargetPriorAdjustment,
                                             TemperatureScaling)

COUNTS = [60, 25, 10, 5]
PRIOR = [c / 100 for c in COUNTS]
TARGET = [0.1, 0.2, 0.3, 0.4]


def _logits():
    return torch.randn(5, 4, generator=torch.Generator().manual_seed(0))


def _per_class(logits, shift):
    """``logits[b, c] + shift(c)`` with explicit loops."""
    return torch.tensor([[logits[b, c].item() + shift(c) for c in range(4)]
                         for b in range(len(logits))])


def test_logit_adjustment_with_tau_zero_is_the_identity():
    adjust = LogitAdjustment(tau=0.0)
    logits = _logits()
    assert torch.equal(adjust(logits), logits)  # needs no counts either


@pytest.mark.parametrize('tau', [0.5, 1.0, 2.0])
def test_logit_adjustment(tau):
    adjust = LogitAdjustment(tau=tau)
    adjust.set_class_counts(COUNTS)
    logits = _logits()
    expected = _per_class(logits, lambda c: -tau * math.log(PRIOR[c]))
    torch.testing.assert_close(adjust(logits), expected)


def test_known_prior_for_a_model_trained_on_the_training_prior():
    adjust = TargetPriorAdjustment(TARGET, trained_on='train')
    adjust.set_class_counts(COUNTS)
    logits = _logits()
    expected = _per_class(logits,
                          lambda c: math.log(TARGET[c]) - math.log(PRIOR[c]))
    torch.testing.assert_close(adjust(logits), expected)


def test_known_prior_for_a_balanced_model_needs_no_counts():
    adjust = TargetPriorAdjustment(TARGET, trained_on='balanced')
    logits = _logits()
    expected = _per_class(logits, lambda c: math.log(TARGET[c]))
    torch.testing.assert_close(adjust(logits), expected)


def test_known_prior_equal_to_the_training_prior_changes_nothing():
    adjust = TargetPriorAdjustment(PRIOR, trained_on='train')
    adjust.set_class_counts(COUNTS)
    logits = _logits()
    torch.testing.assert_close(adjust(logits), logits)


def test_temperature_scaling():
    logits = _logits()
    torch.testing.assert_close(TemperatureScaling(2.5)(logits), logits / 2.5)
    with pytest.raises(ValueError, match='temperature must be > 0'):
        TemperatureScaling(0.0)


def test_a_prior_that_does_not_sum_to_one_is_refused():
    with pytest.raises(
            ValueError, match='TargetPriorAdjustment.target_prior must sum'):
        TargetPriorAdjustment([0.3, 0.3, 0.3, 0.3])


def test_wrong_lengths_name_the_setting():
    adjust = TargetPriorAdjustment([0.5, 0.5], trained_on='balanced')
    with pytest.raises(
            ValueError,
            match='target_prior has 2 entries for '
            'logits of 4 classes'):
        adjust(_logits())
    adjust = LogitAdjustment()
    adjust.set_class_counts([1, 2, 3])
    with pytest.raises(
            ValueError,
            match='LogitAdjustment: 3 training class '
            'counts for logits of 4 classes'):
        adjust(_logits())


def test_missing_counts_say_where_they_come_from():
    with pytest.raises(
            RuntimeError,
            match='LogitAdjustment needs the '
            'training class counts') as error:
        LogitAdjustment()(_logits())
    assert 'trained_class_counts' in str(error.value)


def test_chain_applies_in_order_and_hands_the_counts_on():
    chain = PostProcessorChain([
        dict(type='TemperatureScaling', temperature=2.0),
        dict(type='LogitAdjustment', tau=1.0)
    ])
    chain.set_class_counts(COUNTS)
    logits = _logits()
    expected = _per_class(logits / 2.0, lambda c: -math.log(PRIOR[c]))
    torch.testing.assert_close(chain(logits), expected)
    # No persistent state: a chain never changes a checkpoint.
    assert chain.state_dict() == {}


@pytest.mark.parametrize('post_processors, needs', [
    ([dict(type='LogitAdjustment', tau=1.0)], True),
    ([dict(type='LogitAdjustment', tau=0.0)], False),
    ([
        dict(
            type='TargetPriorAdjustment',
            target_prior=TARGET,
            trained_on='train')
    ], True),
    ([
        dict(
            type='TargetPriorAdjustment',
            target_prior=TARGET,
            trained_on='balanced')
    ], False),
    ([dict(type='TemperatureScaling', temperature=2.0)], False),
    ([
        dict(type='TemperatureScaling', temperature=2.0),
        dict(type='LogitAdjustment', tau=1.0)
    ], True),
    ([], False),
])
def test_chain_says_whether_its_output_needs_the_counts(
        post_processors, needs):
    chain = PostProcessorChain(post_processors)
    assert chain.needs_class_counts is needs
    if not needs:  # it predicts without them
        chain(_logits())


def test_chain_wants_a_list():
    with pytest.raises(TypeError, match='list of configs'):
        PostProcessorChain(dict(type='LogitAdjustment'))


def test_registered_in_mmpretrain():
    for name in ('LogitAdjustment', 'TargetPriorAdjustment',
                 'TemperatureScaling'):
        assert MODELS.get(name) is not None
