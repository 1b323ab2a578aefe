"""The checks a run makes before its work, in one place: the default hooks
call them with the runner's objects, and the analysis path
(:mod:`shike_mm.apis`), which builds its models and data loaders without a
Runner, calls them with its own. A config or checkpoint that one of them
refuses is refused with the same message by ``tools/test.py`` and by the
analysis tools.

- the data preprocessor converts the channel order a dataset serves
  (:func:`check_channel_order`);
- the training class counts fit the head and the evaluated split
  (:func:`give_counts_to_head`, :func:`check_split_classes`);
- a checkpoint fits the model (:func:`check_checkpoint_fits`,
  :func:`load_checkpoint_checked`).
"""
import logging
from typing import List, Union

import torch.nn as nn
from mmengine.logging import MMLogger, print_log
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_to_model)

from shike_mm.datasets.cifar_lt import CHANNEL_ORDER
from shike_mm.models.peft.pretrained_base import base_weights_problems
from shike_mm.utils.checkpoint import (CheckpointMismatchError,
                                       checkpoint_mismatch,
                                       describe_checkpoint_mismatch)


def check_channel_order(loader_name: str, dataset,
                        data_preprocessor: nn.Module) -> None:
    """Check that the data preprocessor converts what a dataset serves.

    Datasets that serve in-memory arrays (the CIFAR-LT datasets) record
    their channel order as ``metainfo['channel_order']``. A BGR dataset
    needs ``to_rgb=True`` in the data preprocessor and an RGB one
    ``to_rgb=False``; otherwise the network sees swapped red and blue
    channels, silently. Datasets without the key (images read by
    ``LoadImageFromFile`` are BGR) and data preprocessors without
    ``to_rgb`` pass.

    Args:
        loader_name (str): The data loader, e.g. ``'test_dataloader'``,
            named in the message.
        dataset: Its dataset.
        data_preprocessor (nn.Module): The model's data preprocessor.

    Raises:
        ValueError: If the two disagree.
    """
    order = dataset.metainfo.get(CHANNEL_ORDER)
    to_rgb = getattr(data_preprocessor, 'to_rgb', None)
    if order is None or to_rgb is None:
        return
    if (order == 'bgr') != bool(to_rgb):
        raise ValueError(
            f'{loader_name}.dataset serves {order.upper()} images '
            f"(channel_order='{order}'), but the data preprocessor has "
            f'to_rgb={to_rgb}; set data_preprocessor.to_rgb='
            f"{order == 'bgr'} (with R, G, B mean/std) or the dataset's "
            f"channel_order='{'bgr' if to_rgb else 'rgb'}'")


def give_counts_to_head(head: nn.Module, counts: List[int],
                        source: str) -> None:
    """Hand the per-class training counts to a head that takes them
    (``set_class_counts``), after checking its ``num_classes``; other
    heads are left alone.

    Args:
        head (nn.Module): The model's head.
        counts (list[int]): The training counts.
        source (str): Where they come from, named in the message.

    Raises:
        ValueError: If the head has another number of classes.
    """
    if not hasattr(head, 'set_class_counts'):
        return
    num_classes = getattr(head, 'num_classes', len(counts))
    if num_classes != len(counts):
        raise ValueError(
            f'model.head.num_classes={num_classes}, but {source} has '
            f'{len(counts)} classes; make them agree')
    head.set_class_counts(counts)


def check_split_classes(loader_name: str, dataset, counts: List[int],
                        source: str) -> None:
    """Check that an evaluated split has the classes the model was trained
    on (when its dataset names its classes).

    Args:
        loader_name (str): The data loader, e.g. ``'test_dataloader'``.
        dataset: Its dataset.
        counts (list[int]): The training counts.
        source (str): Where they come from, named in the message.

    Raises:
        ValueError: If the numbers of classes differ.
    """
    classes = dataset.metainfo.get('classes')
    if classes is not None and len(classes) != len(counts):
        raise ValueError(
            f'{loader_name}.dataset has {len(classes)} classes, but '
            f'{source} has {len(counts)}; evaluate on a split of the dataset '
            'the model was trained on')


def check_checkpoint_fits(
        model: nn.Module,
        checkpoint: dict,
        name: str,
        strict: bool,
        fix: str,
        logger: Union[str, logging.Logger, MMLogger] = 'current') -> None:
    """Check that a loaded checkpoint fits the model before its weights are
    copied.

    A checkpoint trained on other frozen base weights (``PretrainedBase``,
    its ``meta['base_weights']``) is always refused; one that records none
    gets a WARNING. Missing keys, unexpected keys and shape mismatches are
    refused with ``strict``, else a WARNING names them.

    Args:
        model (nn.Module): The model (unwrapped).
        checkpoint (dict): The loaded checkpoint.
        name (str): The checkpoint, named in the messages.
        strict (bool): Refuse a checkpoint whose weights do not fit.
        fix (str): The sentence that follows a refusal, saying what to do.
        logger (str | Logger): Where the WARNINGs go. Defaults to
            ``'current'``.

    Raises:
        CheckpointMismatchError: As described.
    """
    errors, warnings = base_weights_problems(model, checkpoint, name)
    if errors:
        raise CheckpointMismatchError('; '.join(errors))
    for warning in warnings:
        print_log(warning, logger=logger, level=logging.WARNING)
    problem = describe_checkpoint_mismatch(
        name,
        checkpoint_mismatch(model, checkpoint.get('state_dict', checkpoint)))
    if problem is None:
        return
    if strict:
        raise CheckpointMismatchError(f'{problem}. {fix}')
    print_log(
        f'{problem}; the fitting weights are loaded, the others keep '
        'their initialisation',
        logger=logger,
        level=logging.WARNING)


def load_checkpoint_checked(model: nn.Module,
                            filename: str,
                            strict: bool = True,
                            map_location: str = 'cpu') -> dict:
    """Load a checkpoint into a model, strictly unless told otherwise, with
    the check of :func:`check_checkpoint_fits`.

    Args:
        model (nn.Module): The model (unwrapped).
        filename (str): The checkpoint (local files go through the safe
            loader).
        strict (bool): Raise on missing or unexpected keys and shape
            mismatches. Defaults to True. With False they are logged as a
            WARNING and the fitting weights are loaded.
        map_location (str): Device of the loaded tensors. Defaults to
            ``'cpu'``.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        CheckpointMismatchError: On a mismatch with ``strict=True``, and
            for a checkpoint trained on other base weights than the
            model's ``PretrainedBase`` holds (whatever ``strict``).
    """
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    check_checkpoint_fits(
        model,
        checkpoint,
        filename,
        strict,
        fix='Use the config it was trained with, or load it non-strictly '
        'on purpose (strict=False)')
    _load_checkpoint_to_model(model, checkpoint, strict=False)
    return checkpoint
