"""A checkpoint's raw logits on a split, computed once, for the post-hoc
tools (prior shift, calibration, expert aggregation)."""
import copy
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner
from mmpretrain.apis import get_model

from shike_mm.datasets.class_counts import (COUNTS_META_KEY,
                                            trained_class_counts)
from shike_mm.engine.run_checks import (check_channel_order,
                                        check_split_classes,
                                        give_counts_to_head,
                                        load_checkpoint_checked)


@dataclass
class LoadedModel:
    """A model with a checkpoint, ready for analysis.

    Attributes:
        cfg (Config): The config, with the command line's overrides.
        model (nn.Module): The model in eval mode, weights loaded strictly.
        train_counts (list[int]): The per-class training counts the model
            was trained on (already given to a head that takes them).
        counts_source (str): Where the counts come from.
    """
    cfg: Config
    model: torch.nn.Module
    train_counts: List[int]
    counts_source: str

    @property
    def head(self) -> torch.nn.Module:
        """The classification head."""
        return self.model.head


@dataclass
class ModelOutputs:
    """Raw outputs on a split, in its sample order.

    Attributes:
        labels (np.ndarray): ``[N]`` ground-truth labels.
        logits (Tensor): ``[N, C]`` float64 prediction logits, before any
            post-processor (the head's ``forward``).
        expert_logits (Tensor, optional): ``[N, M, C]`` float64 expert
            logits of a multi-expert head, else None.
    """
    labels: np.ndarray
    logits: torch.Tensor
    expert_logits: Optional[torch.Tensor] = None


def load_model(cfg: Config,
               checkpoint: str,
               device: str = 'cpu') -> LoadedModel:
    """Build a config's model and load a checkpoint into it strictly.

    The training counts come from the checkpoint's
    ``meta['train_class_counts']`` or, without them, from counting the
    config's training dataset
    (:func:`~shike_mm.datasets.class_counts.trained_class_counts`); a head
    with ``set_class_counts`` receives them, so its post-processors have
    the training prior. The checkpoint and the counts go through the checks
    a run makes (:mod:`shike_mm.engine.run_checks`), so what
    ``tools/test.py`` refuses is refused here with the same message.

    Args:
        cfg (Config): The config, its default scope set
            (:func:`shike_mm.utils.cli.load_config`).
        checkpoint (str): Checkpoint file.
        device (str): Device. Defaults to ``'cpu'``.

    Returns:
        LoadedModel: The model, its config and its training counts.
    """
    model = get_model(cfg, device=device)
    loaded = load_checkpoint_checked(model, checkpoint, strict=True)
    counts, source = trained_class_counts(
        loaded.get('meta', {}).get(COUNTS_META_KEY),
        cfg.get('train_dataloader', {}).get('dataset'))
    give_counts_to_head(model.head, counts, source)
    model.eval()
    return LoadedModel(cfg, model, counts, source)


def is_multi_expert(head: torch.nn.Module) -> bool:
    """Whether a head has several experts whose logits it can give
    (``expert_logits`` and ``fuse``, as :class:`SHIKEHead`)."""
    return (hasattr(head, 'expert_logits') and hasattr(head, 'fuse')
            and getattr(head, 'num_experts', 1) > 1)


def check_split(loaded: LoadedModel, loader_name: str, dataset) -> None:
    """Make the checks a run makes on a split it evaluates: the split has
    the classes the model was trained on, and the model's data
    preprocessor converts the channel order the split serves.

    Args:
        loaded (LoadedModel): The model.
        loader_name (str): The data loader the split is read as, e.g.
            ``'test_dataloader'``, named in the messages.
        dataset: The split.

    Raises:
        ValueError: If a check fails.
    """
    check_split_classes(loader_name, dataset, loaded.train_counts,
                        loaded.counts_source)
    check_channel_order(loader_name, dataset, loaded.model.data_preprocessor)


def split_dataloader(
        loaded: LoadedModel,
        dataset_cfg: dict,
        loader_name: str = 'test_dataloader') -> torch.utils.data.DataLoader:
    """A data loader of ``dataset_cfg`` with the settings of the config's
    test data loader, in sample order, checked for the model
    (:func:`check_split`).

    Args:
        loaded (LoadedModel): The model, with its config.
        dataset_cfg (dict): The split.
        loader_name (str): The data loader the split is read as, named in
            the messages. Defaults to ``'test_dataloader'``.

    Returns:
        DataLoader: The loader.
    """
    loader_cfg = copy.deepcopy(loaded.cfg.test_dataloader)
    loader_cfg['dataset'] = dataset_cfg
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    dataloader = Runner.build_dataloader(loader_cfg)
    check_split(loaded, loader_name, dataloader.dataset)
    return dataloader


def _batch_logits(model, batch) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    data = model.data_preprocessor(batch, False)
    feats = model.extract_feat(data['inputs'])
    if is_multi_expert(model.head):
        experts = model.head.expert_logits(feats)
        return model.head.fuse(experts), experts.transpose(0, 1)
    return model.head(feats), None


@torch.no_grad()
def collect_outputs(model: torch.nn.Module,
                    dataloader: torch.utils.data.DataLoader) -> ModelOutputs:
    """Run a split through a model once and keep its raw logits.

    Args:
        model (nn.Module): An MMPretrain classifier in eval mode.
        dataloader (DataLoader): The split, in sample order.

    Returns:
        ModelOutputs: Labels, logits and, for a multi-expert head, each
        expert's logits.
    """
    labels, logits, experts = [], [], []
    for batch in dataloader:
        fused, expert = _batch_logits(model, batch)
        labels += [int(s.gt_label[0]) for s in batch['data_samples']]
        logits.append(fused.double().cpu())
        if expert is not None:
            experts.append(expert.double().cpu())
    return ModelOutputs(
        np.asarray(labels), torch.cat(logits),
        torch.cat(experts) if experts else None)


@torch.no_grad()
def two_view_expert_logits(
        model: torch.nn.Module, dataset, batch_size: int,
        rng: np.random.RandomState
) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of two independently augmented views of each sample, in
    a shuffled order, as expert logits.

    Each sample is read twice from ``dataset``, whose pipeline is random,
    so the two reads are two views.

    Args:
        model (nn.Module): A classifier with a multi-expert head, in eval
            mode.
        dataset: The unlabelled images with a random pipeline.
        batch_size (int): Samples per batch.
        rng (np.random.RandomState): Shuffles the order.

    Yields:
        tuple[Tensor, Tensor]: The two views' expert logits, each
        ``[M, B, C]``.
    """
    order = rng.permutation(len(dataset))
    for start in range(0, len(order), batch_size):
        indices = order[start:start + batch_size]
        views = []
        for _ in range(2):
            batch = pseudo_collate([dataset[int(i)] for i in indices])
            data = model.data_preprocessor(batch, False)
            views.append(
                model.head.expert_logits(model.extract_feat(data['inputs'])))
        yield views[0], views[1]
