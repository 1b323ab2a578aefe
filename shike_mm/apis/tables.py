"""Markdown tables of the analysis results: the Many/Medium/Few table of
evaluated models (next to what their recipes are expected to give), each
expert's table, and the accuracy across test priors."""
from typing import Dict, Sequence

import numpy as np

from shike_mm.evaluation.metrics import SHOT_GROUPS
from .analysis import (GROUP_TITLES, EvaluationResult, expert_group_accuracy,
                       group_sizes)
from .prior_shift import METHODS


def expected_range(values: Sequence[float]) -> str:
    """``mean ± sample std (min-max)`` of per-seed results."""
    values = np.asarray(values, dtype=np.float64)
    return (f'{values.mean():.2f} ± {values.std(ddof=1):.2f} '
            f'({values.min():.2f}-{values.max():.2f})')


def _seed_range(seeds: Sequence[int]) -> str:
    seeds = list(seeds)
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f'{seeds[0]}-{seeds[-1]}'
    return ', '.join(map(str, seeds))


def format_group_table(results: Sequence[EvaluationResult]) -> str:
    """A Markdown table of overall top-1 and Many/Medium/Few accuracy, one
    row per model, with each group's number of classes in the header.

    A model whose config states ``expected_results`` gets a second row:
    the mean ± sample standard deviation and the range its recipe gave
    over training seeds, followed by a note that exact digits depend on
    the machine.

    Args:
        results (Sequence[EvaluationResult]): Evaluated models; the header
            takes the groups of the first.

    Returns:
        str: The table (and the note).
    """
    keys = ('top1', ) + SHOT_GROUPS
    sizes = group_sizes(results[0].per_class)
    header = ['model', 'top-1'
              ] + [f'{GROUP_TITLES[g]} ({sizes[g]} cls)' for g in SHOT_GROUPS]
    rows = [header, ['---'] * len(header)]
    seeds = set()
    for result in results:
        rows.append([result.name] +
                    [f'{result.metrics[key]:.2f}' for key in keys])
        if result.expected:
            seeds.add(result.expected['seeds'])
            rows.append([
                f'{result.name}, expected (seeds '
                f'{_seed_range(result.expected["seeds"])})'
            ] + [
                expected_range(result.expected[key]) if key in
                result.expected else '-' for key in keys
            ])
    table = '\n'.join('| ' + ' | '.join(row) + ' |' for row in rows)
    if seeds:
        table += (
            '\n\nExpected: mean ± sample standard deviation (lowest-highest) '
            'of what the shipped recipe gave with those training seeds. The '
            'exact digits of a run also depend on the CPU (or GPU), the '
            'torch build and the thread count.')
    return table


def format_expert_table(result: EvaluationResult) -> str:
    """A Markdown table of each expert's and the fused prediction's
    Many/Medium/Few accuracy.

    Args:
        result (EvaluationResult): A model evaluated with expert scores.

    Returns:
        str: The table.
    """
    table = expert_group_accuracy(result)
    rows = [['predictor'] + [GROUP_TITLES[g] for g in SHOT_GROUPS],
            ['---'] * (len(SHOT_GROUPS) + 1)]
    for expert, accuracies in enumerate(table):
        rows.append([f'expert {expert + 1}'] +
                    [f'{a:.2f}' for a in accuracies])
    rows.append(['mean of expert logits'] +
                [f'{result.metrics[g]:.2f}' for g in SHOT_GROUPS])
    return '\n'.join('| ' + ' | '.join(row) + ' |' for row in rows)


def format_prior_shift_table(summary: Dict[str, dict], num_models: int) -> str:
    """A Markdown table, one row per test prior, one column per method:
    ``mean ± std`` over the models (the value alone for one model)."""
    header = ['test prior', 'test images'] + list(METHODS)
    rows = [header, ['---'] * len(header)]
    for name, entry in summary.items():
        cells = [
            f'{mean:.2f} ± {spread:.2f}' if num_models > 1 else f'{mean:.2f}'
            for mean, spread in entry['accuracy'].values()
        ]
        rows.append([name, str(entry['num_samples'])] + cells)
    return '\n'.join('| ' + ' | '.join(row) + ' |' for row in rows)
