"""SHIKEHead: per-expert cosine classifiers, two stages, SHIKE losses."""
import json

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from shike_mm.models.heads import SHIKEHead
from shike_mm.models.utils import NormedLinear

NUM_CLASSES, FEAT_DIM, BATCH = 6, 8, 4
COUNTS = [50, 30, 20, 10, 5, 2]


def _head(num_experts=3, **kwargs):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='SHIKEHead',
            num_classes=NUM_CLASSES,
            in_channels=FEAT_DIM,
            num_experts=num_experts,
            **kwargs))


def _feats(num_experts=3, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return tuple(
        torch.randn(BATCH, FEAT_DIM, generator=generator)
        for _ in range(num_experts))


def _samples(labels=(0, 2, 5, 2)):
    return [DataSample().set_gt_label(label) for label in labels]


def _cosine_logits(classifiers, feats, scale=30.0):
    """scale * cos(feature, class weight), written out per expert."""
    return torch.stack([
        scale * F.normalize(f, dim=1) @ F.normalize(c.weight, dim=1).T
        for c, f in zip(classifiers, feats)
    ])


def test_normed_linear_init_and_forward():
    layer = NormedLinear(FEAT_DIM, NUM_CLASSES)
    assert layer.weight.shape == (NUM_CLASSES, FEAT_DIM)
    torch.testing.assert_close(
        layer.weight.norm(dim=1), torch.ones(NUM_CLASSES))
    x = torch.randn(3, FEAT_DIM)
    expected = torch.stack([
        torch.stack([F.cosine_similarity(row, w, dim=0) for w in layer.weight])
        for row in x
    ])
    torch.testing.assert_close(layer(x), expected)


def test_expert_logits_are_stacked_scaled_cosine_logits():
    head = _head()
    feats = _feats()
    logits = head.expert_logits(feats)
    assert logits.shape == (3, BATCH, NUM_CLASSES)
    torch.testing.assert_close(logits, _cosine_logits(head.classifiers, feats))
    assert logits.abs().max() <= 30.0 + 1e-4
    torch.testing.assert_close(head.pre_logits(feats), torch.stack(feats))


def test_stage1_losses_are_sums_over_experts(reference):
    head = _head(topk=(1, 2), cal_acc=True)
    feats = _feats()
    samples = _samples()
    losses = head.loss(feats, samples)
    assert set(losses) == {
        'loss_ce', 'loss_dkt', 'loss_mkd', 'accuracy_top-1', 'accuracy_top-2'
    }
    logits = head.expert_logits(feats).detach().double()
    target = torch.tensor([0, 2, 5, 2])
    expected = dict(
        loss_ce=reference.cross_entropy(logits, target),
        loss_dkt=reference.dkt(logits, target),
        loss_mkd=reference.mutual_kd(logits))
    for key, value in expected.items():
        torch.testing.assert_close(
            losses[key].double(), value, rtol=1e-5, atol=1e-6, msg=key)


def test_dkt_scale_follows_the_head_and_losses_can_be_left_out():
    assert _head(scale=16.0).dkt_loss.scale == 16.0
    losses = _head(dkt_loss=None, mkd_loss=None).loss(_feats(), _samples())
    assert set(losses) == {'loss_ce'}


def test_stage2_uses_retrain_classifiers_and_balanced_softmax(reference):
    head = _head()
    feats = _feats()
    stage1_logits = head.expert_logits(feats)
    head.set_stage(2)
    assert head.current_stage == 2
    logits = head.expert_logits(feats)
    torch.testing.assert_close(logits,
                               _cosine_logits(head.retrain_classifiers, feats))
    assert not torch.allclose(logits, stage1_logits)

    head.set_class_counts(COUNTS)
    losses = head.loss(feats, _samples())
    assert set(losses) == {'loss_bal'}
    expected = reference.balanced_softmax(logits.detach().double(),
                                          torch.tensor([0, 2, 5, 2]),
                                          torch.tensor(COUNTS))
    torch.testing.assert_close(
        losses['loss_bal'].double(), expected, rtol=1e-5, atol=1e-6)
    losses['loss_bal'].backward()
    assert all(p.grad is None for p in head.classifiers.parameters())
    assert all(p.grad is not None
               for p in head.retrain_classifiers.parameters())


def test_stage2_loss_without_class_counts_says_how_to_set_them():
    head = _head()
    head.set_stage(2)
    with pytest.raises(RuntimeError, match='set_class_counts'):
        head.loss(_feats(), _samples())


def test_stage_is_saved_and_class_counts_are_not():
    head = _head()
    head.set_stage(2)
    head.set_class_counts(COUNTS)
    state = head.state_dict()
    assert 'stage' in state and 'class_counts' not in state

    torch.manual_seed(123)
    fresh = SHIKEHead(NUM_CLASSES, FEAT_DIM, num_experts=3)
    assert fresh.current_stage == 1
    assert not torch.allclose(fresh(_feats()), head(_feats()))
    fresh.load_state_dict(state, strict=True)
    assert fresh.current_stage == 2
    assert fresh.class_counts is None
    torch.testing.assert_close(fresh(_feats()), head(_feats()))


def test_forward_gives_the_fused_logits_of_the_current_stage():
    """What mode='tensor' and an exported model return: [B, C]."""
    head = _head()
    feats = _feats()
    torch.testing.assert_close(head(feats), head.expert_logits(feats).mean(0))
    assert head(feats).shape == (BATCH, NUM_CLASSES)
    head.set_stage(2)
    torch.testing.assert_close(
        head(feats),
        _cosine_logits(head.retrain_classifiers, feats).mean(0))


def test_predict_averages_expert_logits():
    head = _head()
    feats = _feats()
    logits = head.expert_logits(feats)
    samples = head.predict(feats, _samples())
    mean_score = F.softmax(logits.mean(0), dim=1)
    for b, sample in enumerate(samples):
        torch.testing.assert_close(sample.pred_score, mean_score[b])
        assert sample.pred_label.item() == mean_score[b].argmax().item()
        torch.testing.assert_close(sample.expert_scores,
                                   F.softmax(logits[:, b], dim=1))
    assert samples[2].gt_label.item() == 5
    assert len(head.predict(feats)) == BATCH


def test_rejects_soft_labels_bad_stage_counts_and_expert_mismatch():
    head = _head()
    mixed = [
        DataSample().set_gt_label(0).set_gt_score(
            torch.full((NUM_CLASSES, ), 1 / NUM_CLASSES)) for _ in range(BATCH)
    ]
    with pytest.raises(ValueError, match='hard labels'):
        head.loss(_feats(), mixed)
    with pytest.raises(ValueError, match='stage'):
        head.set_stage(3)
    with pytest.raises(ValueError, match='positive class counts'):
        head.set_class_counts(COUNTS[:-1])
    with pytest.raises(ValueError, match='same num_experts'):
        head(_feats(num_experts=2))


def test_default_fusion_is_the_plain_mean():
    head = _head()
    feats = _feats()
    assert torch.equal(head(feats), head.expert_logits(feats).mean(dim=0))


def test_expert_weights_fuse_the_prediction():
    weights = [0.5, 0.3, 0.2]
    head = _head(expert_weights=weights)
    feats = _feats()
    logits = head.expert_logits(feats)
    fused = sum(w * z for w, z in zip(weights, logits))
    torch.testing.assert_close(head(feats), fused)
    samples = head.predict(feats, _samples())
    for b, sample in enumerate(samples):
        torch.testing.assert_close(sample.pred_score,
                                   F.softmax(fused[b], dim=0))
    # Training is unchanged: the losses use every expert's own logits.
    plain = _head()
    head.set_class_counts(COUNTS)
    plain.set_class_counts(COUNTS)
    torch.testing.assert_close(
        head.loss(feats, _samples())['loss_ce'],
        plain.loss(feats, _samples())['loss_ce'])


@pytest.mark.parametrize('weights, message', [
    ([0.5, 0.5], 'has 2 entries, expected 3'),
    ([0.5, 0.3, 0.3], 'must sum to 1'),
])
def test_bad_expert_weights_name_the_setting(weights, message):
    with pytest.raises(ValueError, match='SHIKEHead.expert_weights') as error:
        _head(expert_weights=weights)
    assert message in str(error.value)


def test_post_processors_change_pred_score_only():
    head = _head(post_processors=[
        dict(type='TemperatureScaling', temperature=2.0),
        dict(type='LogitAdjustment', tau=1.0)
    ])
    head.set_class_counts(COUNTS)  # as ClassCountsHook does
    feats = _feats()
    logits = head.expert_logits(feats)
    log_prior = torch.log(torch.tensor(COUNTS) / sum(COUNTS))
    expected = F.softmax(logits.mean(0) / 2.0 - log_prior, dim=1)
    for b, sample in enumerate(head.predict(feats, _samples())):
        torch.testing.assert_close(sample.pred_score, expected[b])
        torch.testing.assert_close(sample.expert_scores,
                                   F.softmax(logits[:, b], dim=1))
    torch.testing.assert_close(head(feats), logits.mean(0))


def test_options_keep_the_checkpoint_keys():
    plain = _head()
    head = _head(
        expert_weights=[0.2, 0.3, 0.5],
        post_processors=[dict(type='LogitAdjustment')])
    head.set_class_counts(COUNTS)
    assert list(head.state_dict()) == list(plain.state_dict())
    head.load_state_dict(plain.state_dict())


def test_expert_taus_must_match_the_experts():
    with pytest.raises(
            ValueError,
            match=r'expert_taus has 2 entries for '
            r'SHIKEHead\(num_experts=3\)'):
        _head(
            bal_loss=dict(type='BalancedSoftmaxLoss', expert_taus=(0.0, 1.0)))


def test_expert_weights_from_the_file_expert_aggregation_writes(tmp_path):
    path = tmp_path / 'expert_weights.json'
    path.write_text(
        json.dumps(dict(weights=[0.5, 0.3, 0.2], stopped_early=False)))
    head = _head(expert_weights=str(path))
    torch.testing.assert_close(head.expert_weights,
                               torch.tensor([0.5, 0.3, 0.2]))
    path.write_text(json.dumps(dict(prior=[0.5, 0.3, 0.2])))
    with pytest.raises(ValueError) as error:
        _head(expert_weights=str(path))
    assert str(error.value).startswith(
        f'SHIKEHead.expert_weights={str(path)!r}: not a JSON file with a '
        '"weights" list')


def test_a_target_prior_of_another_length_is_refused_when_built():
    with pytest.raises(ValueError) as error:
        _head(post_processors=[
            dict(
                type='TargetPriorAdjustment',
                target_prior=[0.25] * 4,
                trained_on='balanced')
        ])
    assert str(error.value) == (
        'TargetPriorAdjustment.target_prior has 4 entries, but the head has '
        'num_classes=6; give one probability per class')


def test_logit_adjusted_stage1_loss_is_lifts_loss_per_expert(reference):
    """ce_loss=LogitAdjustedLoss: each expert's CE of z + log n (LIFT's
    loss), summed over experts as loss_la, beside DKT and MKD."""
    head = _head(ce_loss=dict(type='LogitAdjustedLoss', tau=1.0))
    assert head.logit_adjusted_stage1 and not _head().logit_adjusted_stage1
    feats, samples = _feats(), _samples()
    with pytest.raises(
            RuntimeError,
            match='logit-adjusted stage-1 loss of '
            'SHIKE needs the training class counts'):
        head.loss(feats, samples)
    head.set_class_counts(COUNTS)
    losses = head.loss(feats, samples)
    assert set(losses) == {'loss_la', 'loss_dkt', 'loss_mkd'}
    logits = head.expert_logits(feats).detach().double()
    expected = reference.balanced_softmax(logits, torch.tensor([0, 2, 5, 2]),
                                          torch.tensor(COUNTS))
    torch.testing.assert_close(
        losses['loss_la'].double(), expected, rtol=1e-5, atol=1e-6)


def test_text_weights_start_every_classifier(tmp_path):
    from shike_mm.models.utils.text_classifier import save_text_classifier
    path = str(tmp_path / 'text.pth')
    weight = F.normalize(torch.randn(NUM_CLASSES, FEAT_DIM), dim=1)
    save_text_classifier(path, weight, {})
    head = _head(text_weights=path)
    head.init_weights()
    for classifier in list(head.classifiers) + list(head.retrain_classifiers):
        torch.testing.assert_close(classifier.weight, weight)
    # SHIKE's fresh, random re-training classifiers on request
    head = _head(text_weights=path, retrain_from_text=False)
    random = [c.weight.clone() for c in head.retrain_classifiers]
    head.init_weights()
    torch.testing.assert_close(head.classifiers[2].weight, weight)
    for classifier, before in zip(head.retrain_classifiers, random):
        assert torch.equal(classifier.weight, before)
    # a single-stage head has no re-training classifiers to start
    head = _head(text_weights=path, bal_loss=None)
    head.init_weights()
    torch.testing.assert_close(head.classifiers[0].weight, weight)
    with pytest.raises(Exception, match='num_classes=7'):
        MODELS.build(
            dict(
                type='SHIKEHead',
                num_classes=7,
                in_channels=FEAT_DIM,
                text_weights=path)).init_weights()
