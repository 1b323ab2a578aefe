"""A model's evaluation result by hand, for the analysis, table and plot
tests."""
import numpy as np
import pytest

from shike_mm.apis.analysis import EvaluationResult

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


@pytest.fixture
def per_class_table():
    """``per_class_table(accuracies)``: a per-class table of 4 classes (2
    Many, 1 Medium, 1 Few) with these accuracies."""
    return _per_class


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
