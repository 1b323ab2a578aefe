"""LongTailMetric against hand-computed values."""
import json
import math
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, METRICS
from mmpretrain.structures import DataSample

import shike_mm  # noqa: F401  (registers the metric)
from shike_mm.evaluation.metrics import (LongTailMetric, group_accuracy,
                                         per_class_accuracy, shot_groups)
from shike_mm.testing import write_image_folder

# Training counts: class 0 Many (>100), classes 1 and 3 Medium (20 and 100
# are the inclusive bounds), class 2 Few (<20).
TRAIN_COUNTS = [150, 20, 19, 100]

# (label, pred_score); the comment gives the top-1 prediction, whether it is
# right, its confidence and whether the label is in the top 2.
SAMPLES = [
    (0, [0.90, 0.05, 0.03, 0.02]),  # 0 right 0.90, top-2 yes
    (0, [0.30, 0.62, 0.05, 0.03]),  # 1 wrong 0.62, top-2 yes
    (1, [0.10, 0.85, 0.03, 0.02]),  # 1 right 0.85, top-2 yes
    (1, [0.84, 0.10, 0.04, 0.02]),  # 0 wrong 0.84, top-2 yes
    (2, [0.05, 0.05, 0.88, 0.02]),  # 2 right 0.88, top-2 yes
    (2, [0.20, 0.42, 0.05, 0.33]),  # 1 wrong 0.42, top-2 no
    (3, [0.05, 0.05, 0.05, 0.85]),  # 3 right 0.85, top-2 yes
    (3, [0.02, 0.03, 0.05, 0.90]),  # 3 right 0.90, top-2 yes
]
# top-1: 5 of 8 right = 62.5; top-2: 7 of 8 = 87.5.
# Per class: 50, 50, 50, 100 -> Many 50, Medium (50 + 100) / 2 = 75,
# Few 50.
# ECE, bins of width 1/15:
#   (0.400, 0.467]: {0.42 wrong}             gap 0.42, weight 1/8
#   (0.600, 0.667]: {0.62 wrong}             gap 0.62, weight 1/8
#   (0.800, 0.867]: {0.85 r, 0.84 w, 0.85 r} acc 2/3, conf 0.84667,
#                                            gap 0.18, weight 3/8
#   (0.867, 0.933]: {0.90, 0.88, 0.90} right acc 1, conf 0.89333,
#                                            gap 0.10667, weight 3/8
#   ECE = (0.42 + 0.62 + 3 * 0.18 + 3 * 0.10667) / 8 = 1.90 / 8 = 0.2375
# MCE: the largest of those gaps, 0.62.
# Adaptive ECE, 15 equal-mass bins of 8 samples: 8 bins of one sample,
#   gaps 0.42, 0.62, 0.84 (wrong) and 0.15, 0.15, 0.12, 0.10, 0.10 (right)
#   -> 2.50 / 8 = 0.3125.
# NLL and Brier: the loops of _nll and _brier below.


def _nll(samples):
    return sum(-math.log(score[label])
               for label, score in samples) / len(samples)


def _brier(samples):
    return sum(
        sum((p - (c == label))**2 for c, p in enumerate(score))
        for label, score in samples) / len(samples)


EXPECTED = {
    'lt/top1': 62.5,
    'lt/top2': 87.5,
    'lt/many': 50.0,
    'lt/medium': 75.0,
    'lt/few': 50.0,
    'lt/ece': 23.75,
    'lt/mce': 62.0,
    'lt/adaptive_ece': 31.25,
    'lt/nll': _nll(SAMPLES),
    'lt/brier': _brier(SAMPLES),
}


def _data_samples(samples=SAMPLES):
    return [{
        'pred_score': torch.tensor(score),
        'gt_label': torch.tensor([label])
    } for label, score in samples]


def _evaluate(metric, samples=SAMPLES):
    data_samples = _data_samples(samples)
    # Two batches, as a data loader would feed them.
    metric.process(None, data_samples[:3])
    metric.process(None, data_samples[3:])
    return metric.evaluate(len(data_samples))


def _assert_metrics(metrics, expected=EXPECTED):
    assert set(metrics) == set(expected)
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value), key


def test_hand_computed_values():
    metric = LongTailMetric(topk=(1, 2), class_counts=TRAIN_COUNTS)
    _assert_metrics(_evaluate(metric))


def test_process_keeps_a_few_numbers_per_sample():
    metric = LongTailMetric(topk=(1, 2), class_counts=TRAIN_COUNTS)
    metric.process(None, _data_samples()[:1])
    (kept, ) = metric.results
    assert set(kept) == {
        'gt_label', 'pred_label', 'confidence', 'true_score', 'sum_squares',
        'topk_hits', 'num_classes'
    }
    assert kept['true_score'] == pytest.approx(0.90)
    assert kept['sum_squares'] == pytest.approx(0.81 + 0.0025 + 0.0009 +
                                                0.0004)


def test_diverged_predictions_warn_and_every_metric_is_nan():
    samples = [(label, [float('nan')] * 4) for label, _ in SAMPLES[:2]]
    with mock.patch('shike_mm.evaluation.metrics.long_tail_metric.'
                    'print_log') as print_log:
        metrics = _evaluate(
            LongTailMetric(class_counts=TRAIN_COUNTS), SAMPLES[2:] + samples)
    assert set(metrics) == set(EXPECTED) - {'lt/top2'} | {'lt/top5'}
    assert all(math.isnan(value) for value in metrics.values()), metrics
    messages = [call.args[0] for call in print_log.call_args_list]
    assert any('2 of 8 predictions have non-finite scores' in message
               for message in messages), messages


def test_a_nan_score_is_never_a_correct_prediction(tmp_path):
    # NaN sorts first in topk: argmax of an all-NaN row is class 0, which
    # is the label here. It must not count as a hit.
    out = tmp_path / 'per_class.json'
    metric = LongTailMetric(
        topk=(1, 2), class_counts=TRAIN_COUNTS, per_class_out=str(out))
    _evaluate(metric, [(0, [float('nan')] * 4)] + SAMPLES[2:])
    rows = json.loads(out.read_text())
    assert rows[0]['num_samples'] == 1 and rows[0]['accuracy'] == 0.0


def test_a_nan_evaluation_never_wins_save_best(tmp_path):
    """CheckpointHook's save_best compares with '>': NaN is never better,
    not even than the initial -inf."""
    from mmengine.hooks import CheckpointHook
    hook = CheckpointHook(save_best='lt/top1', rule='greater')
    nan_metrics = _evaluate(
        LongTailMetric(class_counts=TRAIN_COUNTS),
        [(label, [float('nan')] * 4) for label, _ in SAMPLES])
    is_better = hook.is_better_than['lt/top1']
    assert not is_better(nan_metrics['lt/top1'], float('-inf'))


def test_default_prefix_and_top5_capped_at_the_class_count():
    metrics = _evaluate(LongTailMetric(class_counts=TRAIN_COUNTS))
    expected = {k: v for k, v in EXPECTED.items() if k != 'lt/top2'}
    _assert_metrics(metrics, dict(expected, **{'lt/top5': 100.0}))


def test_shot_group_thresholds():
    groups = shot_groups([101, 100, 20, 19, 0])
    assert groups['many'].tolist() == [True, False, False, False, False]
    assert groups['medium'].tolist() == [False, True, True, False, False]
    assert groups['few'].tolist() == [False, False, False, True, True]
    groups = shot_groups([101, 100, 20, 19], many_thr=99, few_thr=21)
    assert groups['many'].tolist() == [True, True, False, False]
    assert groups['few'].tolist() == [False, False, True, True]


def test_configurable_thresholds():
    # many_thr=19: classes 0, 1, 3 Many (50, 50, 100 -> 66.67), class 2
    # Medium (50), no Few class.
    metric = LongTailMetric(
        topk=1, many_thr=19, few_thr=5, class_counts=TRAIN_COUNTS)
    metrics = _evaluate(metric)
    assert metrics['lt/many'] == pytest.approx(200 / 3)
    assert metrics['lt/medium'] == pytest.approx(50.0)
    assert math.isnan(metrics['lt/few'])


def test_counts_handed_over_by_the_run():
    metric = LongTailMetric(topk=(1, 2))
    assert metric.train_class_counts is None
    # The evaluated dataset's metainfo is no source of training counts.
    metric.dataset_meta = {'train_class_counts': [500] * 4}
    metric.set_class_counts(TRAIN_COUNTS, 'the training dataset')
    _assert_metrics(_evaluate(metric))


def test_counts_from_a_training_split_file(tmp_path):
    ann_file = tmp_path / 'train.txt'
    ann_file.write_text(''.join(f'img_{c}_{i}.jpg {c}\n'
                                for c, n in enumerate(TRAIN_COUNTS)
                                for i in range(n)))
    metric = LongTailMetric(topk=(1, 2), ann_file=str(ann_file))
    assert metric.train_class_counts == TRAIN_COUNTS
    _assert_metrics(_evaluate(metric))


def test_explicit_counts_must_agree_with_the_run():
    metric = LongTailMetric(topk=(1, 2), class_counts=TRAIN_COUNTS)
    metric.set_class_counts(TRAIN_COUNTS, 'the training dataset')
    _assert_metrics(_evaluate(metric))
    with pytest.raises(ValueError) as error:
        metric.set_class_counts([500] * 4, 'the training dataset X')
    message = str(error.value)
    assert 'LongTailMetric.class_counts (4 classes, 289 images)' in message
    assert 'does not match the training dataset X (4 classes, 2000 ' \
        'images)' in message


def test_class_counts_and_ann_file_exclude_each_other(tmp_path):
    with pytest.raises(
            ValueError, match='class_counts or ann_file, not '
            'both'):
        LongTailMetric(class_counts=TRAIN_COUNTS, ann_file='train.txt')


def test_missing_or_mismatched_counts():
    with pytest.raises(ValueError) as error:
        _evaluate(LongTailMetric())
    assert 'needs the per-class training counts' in str(error.value)
    assert 'ClassCountsHook' in str(error.value)
    with pytest.raises(
            ValueError,
            match=r'3 training class counts '
            r'\(LongTailMetric.class_counts\) for 4 predicted classes'):
        _evaluate(LongTailMetric(class_counts=[5, 5, 5]))


def test_results_from_two_ranks_are_combined():
    rank_0, rank_1 = (
        LongTailMetric(topk=(1, 2), class_counts=TRAIN_COUNTS)
        for _ in range(2))
    data_samples = _data_samples()
    rank_0.process(None, data_samples[0::2])
    rank_1.process(None, data_samples[1::2])
    # BaseMetric gathers every rank's results; compute on rank 0 only.
    with mock.patch(
            'mmengine.evaluator.metric.collect_results',
            return_value=rank_0.results + rank_1.results) as collect:
        metrics = rank_0.evaluate(len(data_samples))
    collect.assert_called_once()
    _assert_metrics(metrics)


def test_per_class_accuracy_file(tmp_path):
    out = tmp_path / 'eval' / 'per_class.json'
    metric = LongTailMetric(
        topk=(1, 2), class_counts=TRAIN_COUNTS, per_class_out=str(out))
    metric.dataset_meta = {'classes': ['a', 'b', 'c', 'd']}
    # Class 3 is absent from this evaluation.
    metrics = _evaluate(metric, SAMPLES[:6])
    rows = json.loads(out.read_text())
    assert [(r['index'], r['name'], r['train_count'], r['group'],
             r['num_samples'], r['accuracy']) for r in rows] == [
                 (0, 'a', 150, 'many', 2, 50.0),
                 (1, 'b', 20, 'medium', 2, 50.0),
                 (2, 'c', 19, 'few', 2, 50.0),
                 (3, 'd', 100, 'medium', 0, None),
             ]
    # The absent class does not count in its group's mean.
    assert metrics['lt/medium'] == pytest.approx(50.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match='few_thr'):
        LongTailMetric(many_thr=10, few_thr=20)
    with pytest.raises(ValueError, match='topk'):
        LongTailMetric(topk=(0, 1))
    with pytest.raises(ValueError, match='ece_bins'):
        LongTailMetric(ece_bins=0)


def test_evaluator_on_an_lt_val_split(tmp_path):
    """The runner's path: the evaluator hands the val dataset's metainfo to
    the metric, the counts come from the run, and DataSamples go in."""
    init_default_scope('mmpretrain')
    root = str(tmp_path)
    write_image_folder(
        root, {
            'Places_LT_train.txt': TRAIN_COUNTS,
            'Places_LT_val.txt': [2, 2, 2, 2]
        },
        image_size=4)
    val = DATASETS.build(
        dict(
            type='PlacesLT',
            data_root=root,
            ann_file='Places_LT_val.txt',
            num_classes=4))
    assert np.bincount(val.get_gt_labels()).tolist() == [2, 2, 2, 2]

    metric = METRICS.build(dict(type='LongTailMetric', topk=(1, 2)))
    metric.set_class_counts(TRAIN_COUNTS, 'the training dataset')
    evaluator = Evaluator(metric)
    evaluator.dataset_meta = val.metainfo
    data_samples = [
        DataSample().set_gt_label(label).set_pred_score(torch.tensor(score))
        for label, score in SAMPLES
    ]
    evaluator.process(data_samples)
    _assert_metrics(evaluator.evaluate(len(data_samples)))


def test_per_class_accuracy_marks_absent_classes_nan():
    accuracy = per_class_accuracy(
        np.array([0, 0, 1]), np.array([0, 1, 1]), num_classes=3)
    assert accuracy[:2].tolist() == [50.0, 100.0]
    assert math.isnan(accuracy[2])


def test_group_accuracy_skips_nan_and_empty_groups():
    groups = np.array(['many', 'many', 'few', 'few'])
    means = group_accuracy([100.0, np.nan, 20.0, 40.0],
                           {g: groups == g
                            for g in ('many', 'medium', 'few')})
    assert means['many'] == 100.0 and means['few'] == 30.0
    assert math.isnan(means['medium'])
