"""PostProcessedHead: MMPretrain's heads with logit post-processors,
without changing their parameters, checkpoints or training."""
import math
import pickle

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import shike_mm  # noqa: F401

COUNTS = [80, 15, 5]
HEAD = dict(type='LinearClsHead', num_classes=3, in_channels=4)


def _heads():
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    plain = MODELS.build(HEAD)
    wrapped = MODELS.build(
        dict(
            type='PostProcessedHead',
            head=HEAD,
            post_processors=[dict(type='LogitAdjustment', tau=1.0)]))
    wrapped.load_state_dict(plain.state_dict())
    wrapped.set_class_counts(COUNTS)
    return plain, wrapped


def _feats():
    return (torch.randn(5, 4, generator=torch.Generator().manual_seed(1)), )


def test_same_parameters_and_checkpoints_as_the_plain_head():
    plain, wrapped = _heads()
    assert isinstance(wrapped, type(plain))
    assert list(wrapped.state_dict()) == list(plain.state_dict())
    assert [n for n, _ in wrapped.named_parameters()] == \
        [n for n, _ in plain.named_parameters()]
    pickle.loads(pickle.dumps(wrapped))


def test_predictions_are_adjusted_training_is_not():
    plain, wrapped = _heads()
    feats = _feats()
    logits = plain(feats)
    torch.testing.assert_close(wrapped(feats), logits)
    samples = [DataSample().set_gt_label(i % 3) for i in range(5)]
    torch.testing.assert_close(
        wrapped.loss(feats, samples)['loss'],
        plain.loss(feats, samples)['loss'])
    log_prior = torch.tensor([math.log(c / 100) for c in COUNTS])
    expected = F.softmax(logits - log_prior, dim=1)
    scores = torch.stack([s.pred_score for s in wrapped.predict(feats)])
    torch.testing.assert_close(scores, expected)
    plain_scores = torch.stack([s.pred_score for s in plain.predict(feats)])
    assert not torch.allclose(scores, plain_scores)


@pytest.mark.parametrize('head, message', [
    (dict(type='SHIKEHead', num_classes=3,
          in_channels=4), 'SHIKEHead takes post_processors itself'),
    (dict(type='MultiLabelLinearClsHead', num_classes=3,
          in_channels=4), 'must be an MMPretrain ClsHead'),
])
def test_other_heads_are_refused(head, message):
    init_default_scope('mmpretrain')
    with pytest.raises(TypeError, match=message):
        MODELS.build(
            dict(type='PostProcessedHead', head=head, post_processors=[]))


def test_a_target_prior_of_another_length_is_refused_when_built():
    init_default_scope('mmpretrain')
    with pytest.raises(ValueError) as error:
        MODELS.build(
            dict(
                type='PostProcessedHead',
                head=HEAD,
                post_processors=[
                    dict(
                        type='TargetPriorAdjustment',
                        target_prior=[0.5, 0.5],
                        trained_on='balanced')
                ]))
    assert ('TargetPriorAdjustment.target_prior has 2 entries, but the head '
            'has num_classes=3; give one probability per class') in str(
                error.value)
