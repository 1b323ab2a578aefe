"""The long-tail analysis helpers on small hand-made inputs."""
import json
import os

import numpy as np
import pytest
from mmengine.config import Config

from shike_mm.apis import analysis
from shike_mm.apis.analysis import (EvaluationResult, check_expected_results,
                                    evaluate_checkpoint, expert_group_accuracy,
                                    find_scalars_json, format_expert_table,
                                    format_group_table, load_per_class,
                                    plot_learning_curves)

GROUPS = ['many', 'many', 'medium', 'few']


def _per_class(accuracies):
    return [
        dict(
            index=c,
            name=str(c),
            train_count=n,
            group=g,
            num_samples=2,
            accuracy=a)
        for c, (n, g,
                a) in enumerate(zip([40, 30, 10, 2], GROUPS, accuracies))
    ]


def _one_hot_scores(predictions, num_classes=4):
    """[N, M, C] scores whose arg-max per expert is ``predictions[m][n]``."""
    predictions = np.asarray(predictions).T  # [N, M]
    scores = np.full(predictions.shape + (num_classes, ), 0.1)
    np.put_along_axis(scores, predictions[..., None], 0.7, axis=2)
    return scores


@pytest.fixture
def result():
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    expert_predictions = [
        [0, 0, 1, 1, 0, 0, 0, 0],  # a head expert: Many 100, Few 0
        [3, 3, 1, 0, 2, 2, 3, 3],  # a tail expert
    ]
    return EvaluationResult(
        name='toy',
        metrics=dict(top1=62.5, many=75.0, medium=50.0, few=50.0),
        per_class=_per_class([100.0, 50.0, 50.0, 50.0]),
        labels=labels,
        expert_scores=_one_hot_scores(expert_predictions))


def test_expert_group_accuracy_by_hand(result):
    table = expert_group_accuracy(result)
    assert table.tolist() == [[100.0, 0.0, 0.0], [25.0, 100.0, 100.0]]
    assert result.num_experts == 2


def test_expert_analysis_needs_expert_scores(result):
    result.expert_scores = None
    with pytest.raises(ValueError, match='no expert_scores'):
        expert_group_accuracy(result)


def test_tables(result):
    table = format_group_table([result])
    assert table.splitlines()[0] == \
        '| model | top-1 | Many (2 cls) | Medium (1 cls) | Few (1 cls) |'
    assert table.splitlines()[2] == '| toy | 62.50 | 75.00 | 50.00 | 50.00 |'
    experts = format_expert_table(result).splitlines()
    assert experts[2] == '| expert 1 | 100.00 | 0.00 | 0.00 |'
    assert experts[-1] == '| mean of expert logits | 75.00 | 50.00 | 50.00 |'


def test_expected_results_sit_next_to_the_result(result):
    result.expected = check_expected_results(
        dict(seeds=[0, 1, 2], top1=[60.0, 64.0, 68.0], few=[40.0, 50, 60]),
        'toy.py')
    lines = format_group_table([result]).splitlines()
    assert lines[2] == '| toy | 62.50 | 75.00 | 50.00 | 50.00 |'
    # mean ± sample std (lowest-highest); a metric not stated is '-'
    assert lines[3] == ('| toy, expected (seeds 0-2) | 64.00 ± 4.00 '
                        '(60.00-68.00) | - | - | 50.00 ± 10.00 '
                        '(40.00-60.00) |')
    assert 'also depend on the CPU (or GPU), the torch build' in lines[-1]


@pytest.mark.parametrize('expected', [
    dict(top1=[1.0, 2.0]),
    dict(seeds=[0], top1=[1.0]),
    dict(seeds=[0, 1], top1=[1.0]),
    dict(seeds=[0, 1], top5=[1.0, 2.0]),
])
def test_expected_results_need_one_result_per_seed(expected):
    with pytest.raises(ValueError, match='toy.py: expected_results must'):
        check_expected_results(expected, 'toy.py')


def test_load_per_class_checks_the_format(tmp_path):
    good = tmp_path / 'good.json'
    good.write_text(json.dumps(_per_class([1.0, 2.0, None, 4.0])))
    assert len(load_per_class(str(good))) == 4
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'lt/top1': 50.0}))
    with pytest.raises(ValueError, match='not a per-class table'):
        load_per_class(str(bad))


def test_find_scalars_json_explains_a_missing_log(tmp_path):
    with pytest.raises(FileNotFoundError, match='No vis_data/scalars.json'):
        find_scalars_json(str(tmp_path))
    older = tmp_path / '20240101_000000' / 'vis_data'
    newer = tmp_path / '20240102_000000' / 'vis_data'
    for mtime, folder in enumerate((older, newer)):
        folder.mkdir(parents=True)
        (folder / 'scalars.json').write_text('')
        os.utime(folder / 'scalars.json', (mtime, mtime))
    assert find_scalars_json(str(tmp_path)) == str(newer / 'scalars.json')


TWO_STAGE_LOG = [
    dict(lr=0.1, loss=3.0, loss_ce=2.0, loss_dkt=1.0, epoch=1, iter=2, step=2),
    dict(lr=0.05, loss=1.0, loss_bal=1.0, epoch=2, iter=4, step=4),
    {
        'lt/top1': 40.0,
        'lt/many': 60.0,
        'step': 1
    },
    {
        'lt/top1': 42.0,
        'lt/many': 61.5,
        'step': 2
    },
]


def _write_log(path, records):
    path.write_text('\n'.join(json.dumps(r) for r in records))
    return str(path)


@pytest.fixture
def drawn_figures(monkeypatch):
    """The figures the plot functions save, kept open for inspection."""
    figures = []
    monkeypatch.setattr(
        analysis, '_save', lambda fig, out_file:
        (fig.canvas.draw(), figures.append(fig)))
    return figures


def _legends_clear_of_the_data(fig):
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent(renderer)
        assert not box.overlaps(ax.get_window_extent(renderer)), ax.title


def test_learning_curves_colour_the_runs_under_one_legend(
        tmp_path, drawn_figures):
    """Each run is one colour; line styles tell the terms and metrics
    apart; one legend under the panels names both; every axis is
    labelled; a term equal to the total is drawn once, as the total."""
    from matplotlib.colors import to_hex
    shike = _write_log(tmp_path / 'shike.json', TWO_STAGE_LOG)
    baseline = _write_log(tmp_path / 'ce.json', [
        dict(lr=0.1, loss=2.5, loss_ce=2.5, epoch=1, iter=2, step=2),
        {
            'lt/top1': 41.0,
            'step': 1
        },
    ])
    plot_learning_curves({'shike': shike, 'ce': baseline}, 'unused.png')
    (fig, ) = drawn_figures
    losses, lr, accuracy = fig.axes
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend, ) = fig.legends
    assert [text.get_text() for text in legend.get_texts()] == [
        'shike (stage 2: total = Balanced Softmax)',
        'ce (total = cross-entropy)', 'loss: total', 'loss: cross-entropy',
        'loss: DKT', 'accuracy: top-1', 'accuracy: Many',
        'stage 2 starts (vertical line)'
    ]
    shike_colour, ce_colour = to_hex('C0'), to_hex('C1')
    for ax, shike_lines, ce_lines in ((losses, 3, 1), (lr, 1, 1), (accuracy, 2,
                                                                   1)):
        # data curves, not the stage-2 lines (axes-height vertical lines)
        curves = [
            line for line in ax.get_lines()
            if line.get_transform() == ax.transData
        ]
        colours = [to_hex(line.get_color()) for line in curves]
        assert colours.count(shike_colour) == shike_lines, ax.get_title()
        assert colours.count(ce_colour) == ce_lines, ax.get_title()
        assert ax.get_ylabel() and ax.get_xlabel() == 'epoch'
    # Zoomed to the logged 40..61.5, not 0..100.
    assert accuracy.get_ylim() == (35.0, 67.0)
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    assert not any(
        box.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes)


def test_learning_curves_write_a_png_and_need_training_records(tmp_path):
    log = _write_log(tmp_path / 'scalars.json', TWO_STAGE_LOG)
    out = tmp_path / 'curves' / 'curves.png'
    plot_learning_curves({'run': log}, str(out))
    assert out.read_bytes()[:4] == b'\x89PNG'
    _write_log(tmp_path / 'scalars.json', TWO_STAGE_LOG[2:])
    with pytest.raises(ValueError, match='no training records'):
        plot_learning_curves({'run': log}, str(out))


def test_expert_preference_labels_values_and_zooms(result, drawn_figures):
    analysis.plot_expert_preference(result, 'unused.png')
    (fig, ) = drawn_figures
    (ax, ) = fig.axes
    values = [text.get_text() for text in ax.texts]
    assert len(values) == 3 * (result.num_experts + 1)
    assert '62.5' not in values and '75.0' in values  # Many of the fusion
    assert ax.get_ylim() == (0.0, 105.0)  # these values span 0 to 100
    _legends_clear_of_the_data(fig)


def test_zoomed_limits_keep_small_differences_visible():
    assert analysis._zoomed_limits([61.2, 63.9]) == (56.0, 69.0)
    assert analysis._zoomed_limits([1.0, 99.5]) == (0.0, 105.0)
    assert analysis._zoomed_limits([float('nan')]) == (0.0, 105.0)


def test_evaluation_needs_a_long_tail_metric(tmp_path):
    config = tmp_path / 'accuracy_only.py'
    Config(
        dict(test_evaluator=dict(type='Accuracy'),
             default_scope='mmpretrain')).dump(str(config))
    with pytest.raises(ValueError, match='needs a LongTailMetric'):
        evaluate_checkpoint(
            str(config), 'unused.pth', str(tmp_path / 'per_class.json'))
