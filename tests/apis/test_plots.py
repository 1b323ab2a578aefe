"""The analysis plots: what they draw, where their legends go, and the
PNGs they write."""
import json

import pytest

from shike_mm.apis import plots
from shike_mm.apis.plots import plot_learning_curves, zoomed_limits

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
        plots, 'save_figure', lambda fig, out_file:
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
    plots.plot_expert_preference(result, 'unused.png')
    (fig, ) = drawn_figures
    (ax, ) = fig.axes
    values = [text.get_text() for text in ax.texts]
    assert len(values) == 3 * (result.num_experts + 1)
    assert '62.5' not in values and '75.0' in values  # Many of the fusion
    assert ax.get_ylim() == (0.0, 105.0)  # these values span 0 to 100
    _legends_clear_of_the_data(fig)


def test_zoomed_limits_keep_small_differences_visible():
    assert zoomed_limits([61.2, 63.9]) == (56.0, 69.0)
    assert zoomed_limits([1.0, 99.5]) == (0.0, 105.0)
    assert zoomed_limits([float('nan')]) == (0.0, 105.0)
