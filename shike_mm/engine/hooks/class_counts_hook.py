"""One road for the per-class training counts: from the training dataset
the runner built to the head, the metrics and the checkpoints."""
import logging
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from shike_mm.datasets import describe_dataset, get_train_class_counts
from shike_mm.datasets.class_counts import (COUNTS_META_KEY,
                                            trained_class_counts)
from ..run_checks import check_split_classes, give_counts_to_head


@HOOKS.register_module()
class ClassCountsHook(Hook):
    """Hand the per-class training counts to everything that needs them.

    The counts are computed once, by
    :func:`~shike_mm.datasets.get_train_class_counts`, and passed on:

    - **training**: from the training dataset the runner built, before the
      first epoch. The model's head receives them if it has
      ``set_class_counts`` (SHIKE's Balanced Softmax in stage 2), after a
      check that ``head.num_classes`` agrees; every metric of the
      validation evaluator that has ``set_class_counts``
      (:class:`~shike_mm.evaluation.LongTailMetric`) receives them, and a
      metric with other explicit counts stops the run. Every checkpoint
      stores them in ``meta['train_class_counts']``; resuming a checkpoint
      trained on other counts stops the run (``load_from`` only warns, as
      fine-tuning on other data is legitimate).
    - **testing**: the test metrics, and a head whose post-processors
      need the training prior (``post_processors.needs_class_counts``:
      ``LogitAdjustment``, ``TargetPriorAdjustment(trained_on='train')``),
      receive the counts stored in the loaded checkpoint; for a checkpoint
      without them, the config's training dataset is built and counted
      (:func:`~shike_mm.datasets.class_counts.trained_class_counts`).

    All of this happens before the first iteration, so a missing or
    contradictory count fails before any training or testing work.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self) -> None:
        self._counts: Optional[List[int]] = None
        self._loaded_counts: Optional[List[int]] = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        counts = checkpoint.get('meta', {}).get(COUNTS_META_KEY)
        self._loaded_counts = None if counts is None else list(counts)

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        source = f'the training dataset {describe_dataset(dataset)}'
        counts = get_train_class_counts(dataset)
        if self._loaded_counts is not None and self._loaded_counts != counts:
            message = (f'The loaded checkpoint was trained on '
                       f'{len(self._loaded_counts)} classes with '
                       f'{sum(self._loaded_counts)} images, but {source} has '
                       f'{len(counts)} classes with {sum(counts)} images')
            if runner.iter > 0:
                raise ValueError(
                    f'{message}: a resumed run must train on the same data. '
                    'Restore the training split, or start a new run with '
                    'load_from instead of resume')
            print_log(
                f'{message}; training goes on with the new counts.',
                logger='current',
                level=logging.WARNING)
        self._counts = counts
        self._give_to_head(runner, counts,
                           f'{source} (train_dataloader.dataset)')
        val_loop = runner.val_loop
        if val_loop is not None:
            self._give_to_metrics(val_loop, 'val', counts, source)
        print_log(
            f'ClassCountsHook: {len(counts)} classes, {sum(counts)} training '
            f'images (max {max(counts)}, min {min(counts)}) from {source}',
            logger='current')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._counts is not None:
            checkpoint.setdefault('meta', {})[COUNTS_META_KEY] = self._counts

    def before_test(self, runner) -> None:
        metrics = [
            metric for metric in runner.test_loop.evaluator.metrics
            if hasattr(metric, 'set_class_counts')
        ]
        explicit = all(m.train_class_counts is not None for m in metrics)
        metrics_need = bool(metrics) and not (self._loaded_counts is None
                                              and explicit)
        post_processors = getattr(self._head(runner), 'post_processors', None)
        head_needs = getattr(post_processors, 'needs_class_counts', False)
        if not (metrics_need or head_needs):
            return
        counts, source = trained_class_counts(
            self._loaded_counts, (runner.cfg.get('train_dataloader')
                                  or {}).get('dataset'))
        if head_needs:
            self._give_to_head(runner, counts, source)
        if metrics_need:
            self._give_to_metrics(runner.test_loop, 'test', counts, source)

    @staticmethod
    def _head(runner):
        """The model's head, inside DDP and test-time augmentation."""
        model = runner.model
        while is_model_wrapper(model):
            model = model.module
        return getattr(model, 'head', None)

    def _give_to_head(self, runner, counts: List[int], source: str) -> None:
        give_counts_to_head(self._head(runner), counts, source)

    @staticmethod
    def _give_to_metrics(loop, split: str, counts: List[int],
                         source: str) -> None:
        for metric in loop.evaluator.metrics:
            if not hasattr(metric, 'set_class_counts'):
                continue
            check_split_classes(f'{split}_dataloader', loop.dataloader.dataset,
                                counts, source)
            metric.set_class_counts(counts, source)
