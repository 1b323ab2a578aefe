"""Logit post-processors for MMPretrain's own classification heads."""
import copy
from typing import Dict, List, Sequence

from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS

from ..post_processors import PostProcessorChain
from .shike_head import SHIKEHead


class _PostProcessing:
    """Mixed into a :class:`ClsHead` subclass: the head's predictions go
    through ``self.post_processors`` before the softmax. Training and
    ``forward`` (``mode='tensor'``) are unchanged."""

    post_processors: PostProcessorChain

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Give the training counts to the post-processors that use them
        (:class:`~shike_mm.engine.hooks.ClassCountsHook` calls this)."""
        self.post_processors.set_class_counts(counts)

    def _get_predictions(self, cls_score, data_samples):
        return super()._get_predictions(
            self.post_processors(cls_score), data_samples)


_CLASSES: Dict[type, type] = {}


def _post_processed_class(head_class: type) -> type:
    """``head_class`` with :class:`_PostProcessing`, one class per head
    class, named ``PostProcessed<Head>`` in this module (so it pickles)."""
    if head_class not in _CLASSES:
        name = f'PostProcessed{head_class.__name__}'
        subclass = type(name, (_PostProcessing, head_class), {
            '__module__': __name__,
            '__qualname__': name
        })
        globals()[name] = subclass
        _CLASSES[head_class] = subclass
    return _CLASSES[head_class]


@MODELS.register_module()
class PostProcessedHead:
    """Build an MMPretrain classification head whose predictions go through
    logit post-processors (prior correction, temperature scaling).

    ``dict(type='PostProcessedHead', head=dict(type='LinearClsHead', ...),
    post_processors=[...])`` builds the ``head`` config as an instance of a
    subclass of its own class (``PostProcessedLinearClsHead``), not as a
    wrapper around it: parameter names and checkpoints stay those of the
    plain head, training is unchanged, and only ``predict`` applies the
    post-processors to the ``[B, C]`` logits before the softmax. Any
    subclass of MMPretrain's :class:`ClsHead` works (they all predict
    through ``_get_predictions``). :class:`SHIKEHead` takes
    ``post_processors`` itself.

    Args:
        head (dict): Config of the head, e.g. ``LinearClsHead``.
        post_processors (list[dict]): Post-processors applied in order,
            e.g. ``[dict(type='LogitAdjustment', tau=1.0)]``.

    Returns:
        ClsHead: The head, with ``post_processors`` and
        ``set_class_counts``.
    """

    def __new__(cls, head: dict, post_processors: List[dict]):
        head = copy.deepcopy(dict(head))
        head_type = head.pop('type', None)
        head_class = MODELS.get(head_type) if isinstance(head_type,
                                                         str) else head_type
        if not isinstance(head_class, type) or not issubclass(
                head_class, ClsHead):
            raise TypeError(
                'PostProcessedHead.head must be an MMPretrain ClsHead '
                f'(e.g. LinearClsHead), got type={head_type!r}')
        if issubclass(head_class, SHIKEHead):
            raise TypeError('SHIKEHead takes post_processors itself: '
                            "model.head.post_processors=[...]")
        instance = _post_processed_class(head_class)(**head)
        instance.post_processors = PostProcessorChain(
            post_processors, getattr(instance, 'num_classes', None))
        return instance
