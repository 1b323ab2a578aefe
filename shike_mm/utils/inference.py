"""Build shike_mm classifiers for MMPretrain's inference APIs."""
import os.path as osp
from typing import Optional

from mmengine.model import BaseModel
from mmpretrain.apis import get_model
from modelindex.models.Model import Model
from modelindex.models.Result import Result

from .config import find_config

#: The task name under which ``mmpretrain.inference_model`` picks
#: ``ImageClassificationInferencer``.
CLASSIFICATION_TASK = 'Image Classification'


def get_classifier(config: str,
                   checkpoint: Optional[str] = None,
                   device: Optional[str] = None) -> BaseModel:
    """Build an image classifier from a config and load its checkpoint.

    A model that ``mmpretrain.get_model`` builds from a config file has no
    task, so ``mmpretrain.inference_model`` cannot choose an inferencer
    for it.
    This function tags the model with the image-classification task; the
    result works with ``inference_model(model, image)`` as well as with
    ``ImageClassificationInferencer(model)``.

    Args:
        config (str): Config file, or a config shipped with shike_mm
            (e.g. ``shike/shike_r32_digits-lt.py``).
        checkpoint (str, optional): Checkpoint to load. Defaults to None
            (untrained weights).
        device (str, optional): Device of the model, e.g. ``'cpu'``.
            Defaults to None (where the weights were built: the CPU).

    Returns:
        BaseModel: The classifier in eval mode.
    """
    config = find_config(config)
    model = get_model(config, pretrained=checkpoint or False, device=device)
    loader = model._config.get('test_dataloader') or {}
    dataset = loader.get('dataset') or {}
    model._metainfo = Model(
        name=osp.splitext(osp.basename(config))[0],
        config=config,
        results=[
            Result(
                task=CLASSIFICATION_TASK,
                dataset=dataset.get('type', 'unknown'),
                metrics={})
        ])
    return model
