"""The Markdown tables of evaluation results."""
from shike_mm.apis.analysis import check_expected_results
from shike_mm.apis.tables import format_expert_table, format_group_table


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
