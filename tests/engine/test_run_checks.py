"""The run-level checks on small stand-ins (the hooks' tests run them in
a Runner, tests/tools/test_analysis_run_checks.py in the analysis
tools)."""
import logging
from types import SimpleNamespace

import pytest
import torch.nn as nn

from shike_mm.engine.run_checks import (check_channel_order,
                                        check_checkpoint_fits,
                                        check_split_classes,
                                        give_counts_to_head)
from shike_mm.utils.checkpoint import CheckpointMismatchError


def _dataset(**metainfo):
    return SimpleNamespace(metainfo=metainfo)


@pytest.mark.parametrize('order, to_rgb', [('bgr', True), ('rgb', False),
                                           (None, True), ('rgb', None)])
def test_agreeing_or_unknown_channel_orders_pass(order, to_rgb):
    metainfo = {} if order is None else dict(channel_order=order)
    preprocessor = SimpleNamespace() if to_rgb is None else SimpleNamespace(
        to_rgb=to_rgb)
    check_channel_order('val_dataloader', _dataset(**metainfo), preprocessor)


def test_a_bgr_dataset_needs_to_rgb():
    with pytest.raises(ValueError) as error:
        check_channel_order('val_dataloader', _dataset(channel_order='bgr'),
                            SimpleNamespace(to_rgb=False))
    assert str(error.value) == (
        "val_dataloader.dataset serves BGR images (channel_order='bgr'), "
        'but the data preprocessor has to_rgb=False; set '
        'data_preprocessor.to_rgb=True (with R, G, B mean/std) or the '
        "dataset's channel_order='rgb'")


class CountedHead(nn.Module):

    def __init__(self, num_classes):
        super().__init__()
        self.num_classes = num_classes
        self.counts = None

    def set_class_counts(self, counts):
        self.counts = counts


def test_the_head_gets_counts_of_its_classes_only():
    head = CountedHead(3)
    give_counts_to_head(head, [5, 2, 1], 'the training dataset')
    assert head.counts == [5, 2, 1]
    with pytest.raises(ValueError) as error:
        give_counts_to_head(CountedHead(4), [5, 2, 1], 'the checkpoint')
    assert str(error.value) == ('model.head.num_classes=4, but the '
                                'checkpoint has 3 classes; make them agree')
    give_counts_to_head(nn.Linear(2, 4), [5, 2, 1], 'unused')  # takes none


def test_an_evaluated_split_has_the_trained_classes():
    check_split_classes('test_dataloader', _dataset(classes=('a', 'b')),
                        [3, 1], 'the checkpoint')
    check_split_classes('test_dataloader', _dataset(), [3, 1], 'unused')
    with pytest.raises(ValueError) as error:
        check_split_classes('test_dataloader', _dataset(classes=('a', )),
                            [3, 1], 'the checkpoint')
    assert str(error.value) == (
        'test_dataloader.dataset has 1 classes, but the checkpoint has 2; '
        'evaluate on a split of the dataset the model was trained on')


def test_a_checkpoint_that_does_not_fit_is_refused_or_named(caplog):
    model = nn.Linear(2, 3)
    other = {'state_dict': nn.Linear(2, 4).state_dict()}
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint_fits(model, other, 'a.pth', True, 'Do this.')
    assert str(error.value) == (
        'Checkpoint a.pth does not match the model: 2 shape mismatch '
        '(weight: checkpoint (4, 2) vs model (3, 2), bias: checkpoint (4,) '
        'vs model (3,)). Do this.')
    logger = logging.getLogger('run_checks_test')
    with caplog.at_level(logging.WARNING, logger='run_checks_test'):
        check_checkpoint_fits(model, other, 'a.pth', False, 'unused', logger)
    assert 'the others keep their initialisation' in caplog.text
    check_checkpoint_fits(model, {'state_dict': model.state_dict()}, 'b.pth',
                          True, 'unused')
