"""The evaluation helpers on small hand-made inputs."""
import json

import pytest
from mmengine.config import Config

from shike_mm.apis.analysis import (check_expected_results,
                                    evaluate_checkpoint, expert_group_accuracy,
                                    load_per_class)


def test_expert_group_accuracy_by_hand(result):
    table = expert_group_accuracy(result)
    assert table.tolist() == [[100.0, 0.0, 0.0], [25.0, 100.0, 100.0]]
    assert result.num_experts == 2


def test_expert_analysis_needs_expert_scores(result):
    result.expert_scores = None
    with pytest.raises(ValueError, match='no expert_scores'):
        expert_group_accuracy(result)


@pytest.mark.parametrize('expected', [
    dict(top1=[1.0, 2.0]),
    dict(seeds=[0], top1=[1.0]),
    dict(seeds=[0, 1], top1=[1.0]),
    dict(seeds=[0, 1], top5=[1.0, 2.0]),
])
def test_expected_results_need_one_result_per_seed(expected):
    with pytest.raises(ValueError, match='toy.py: expected_results must'):
        check_expected_results(expected, 'toy.py')


def test_load_per_class_checks_the_format(tmp_path, per_class_table):
    good = tmp_path / 'good.json'
    good.write_text(json.dumps(per_class_table([1.0, 2.0, None, 4.0])))
    assert len(load_per_class(str(good))) == 4
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'lt/top1': 50.0}))
    with pytest.raises(ValueError, match='not a per-class table'):
        load_per_class(str(bad))


def test_evaluation_needs_a_long_tail_metric(tmp_path):
    cfg = Config(
        dict(test_evaluator=dict(type='Accuracy'), default_scope='mmpretrain'))
    with pytest.raises(ValueError, match='needs a LongTailMetric'):
        evaluate_checkpoint(cfg, 'unused.pth',
                            str(tmp_path / 'per_class.json'))
