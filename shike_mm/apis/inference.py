"""Build shike_mm classifiers for MMPretrain's inference APIs."""
import os.path as osp
from typing import Optional

from mmengine.model import BaseModel
from mmpretrain.apis import get_model
from modelindex.models.Model import Model
from modelindex.models.Result import Result

from shike_mm.engine.run_checks import load_checkpoint_checked
from shike_mm.utils.config import find_config

#: The task name under which ``mmpretrain.inference_model`` picks
#: ``ImageClassificationInferencer``.
CLASSIFICATION_TASK = 'Image Classification'


def get_classifier(config: str,
                   checkpoint: Optional[str] = None,
                   device: Optional[str] = None,
                   strict: bool = True) -> BaseModel:
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
        strict (bool): Refuse a checkpoint whose keys or shapes do not
            match the model (a checkpoint of another config). Defaults to
            True; False loads the fitting weights with a WARNING.

    Returns:
        BaseModel: The classifier in eval mode.
    """
    config = find_config(config)
    model = get_model(config, device=device)
    if checkpoint:
        loaded = load_checkpoint_checked(
            model, checkpoint, strict=strict, map_location='cpu')
        # As get_model(pretrained=...) does: the class names it trained on.
        dataset_meta = loaded.get('meta', {}).get('dataset_meta')
        if dataset_meta:
            model._dataset_meta = dataset_meta
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
