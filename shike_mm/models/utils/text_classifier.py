"""Classifier weights from class names through CLIP's text tower (LIFT's
head initialisation), and the file that carries them to a head."""
import os.path as osp
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F

from shike_mm.utils.checkpoint import (CheckpointMismatchError,
                                       load_local_checkpoint)
from .clip_text_encoder import CLIPTextEncoder
from .clip_tokenizer import clip_tokenize

#: CLIP's default prompt, LIFT's ``"default"`` prompt.
DEFAULT_TEMPLATE = 'a photo of a {}.'
#: Format version of the files :func:`save_text_classifier` writes.
TEXT_CLASSIFIER_FORMAT = 'shike_mm.text_classifier/1'


def check_templates(templates: Sequence[str]) -> List[str]:
    """Prompt templates, each with exactly one ``{}`` for the class name.

    Raises:
        ValueError: A template without ``{}`` (every class would get the
            same prompt), with more than one, or with other braces.
    """
    templates = list(templates)
    if not templates:
        raise ValueError('No prompt template given')
    for template in templates:
        if template.count('{}') != 1:
            raise ValueError(
                f'The prompt template {template!r} must hold "{{}}" exactly '
                'once, where the class name goes (e.g. "a photo of a {}.")')
        try:
            template.format('x')
        except (IndexError, KeyError, ValueError) as error:
            raise ValueError(f'The prompt template {template!r} does not '
                             f'format: {error}') from None
    return templates


def prompt_text(template: str, class_name: str) -> str:
    """The prompt of one class; underscores in the name become spaces, as in
    LIFT (``aquarium_fish`` -> ``a photo of a aquarium fish.``)."""
    return template.format(class_name.replace('_', ' '))


@torch.no_grad()
def text_classifier_weights(encoder: CLIPTextEncoder,
                            visual_projection: torch.Tensor,
                            class_names: Sequence[str],
                            templates: Sequence[str] = (DEFAULT_TEMPLATE, ),
                            batch_size: int = 256) -> torch.Tensor:
    """Class vectors in the visual feature space from class names.

    For every class, each template's prompt goes through the text tower;
    the L2-normalised text features are averaged over the templates (one
    template: the feature itself), mapped back into the visual feature
    space with ``t @ P.T`` (``P`` is CLIP's image projection, visual width
    x joint width) and L2-normalised again, as LIFT's ``text_feat``
    initialisation does.

    Computed in the dtype and on the device of ``encoder``.

    Args:
        encoder (CLIPTextEncoder): CLIP's text tower.
        visual_projection (Tensor): ``[D, E]`` image projection ``P``.
        class_names (Sequence[str]): ``C`` names, in label order.
        templates (Sequence[str]): Prompt templates with ``{}``. Defaults
            to ``('a photo of a {}.', )``.
        batch_size (int): Prompts per forward pass. Defaults to 256.

    Returns:
        Tensor: ``[C, D]`` unit-norm class vectors.
    """
    templates = check_templates(templates)
    param = encoder.text_projection
    if visual_projection.shape[1] != param.shape[1]:
        raise ValueError(
            f'The image projection {tuple(visual_projection.shape)} and the '
            f'text projection {tuple(param.shape)} do not share the joint '
            'width: not the two towers of one CLIP model')
    total = None
    for template in templates:
        tokens = clip_tokenize([prompt_text(template, n) for n in class_names],
                               encoder.context_length).to(param.device)
        features = torch.cat([
            F.normalize(encoder(chunk), dim=-1)
            for chunk in tokens.split(batch_size)
        ])
        total = features if total is None else total + features
    mean = total / len(templates)
    return F.normalize(mean @ visual_projection.to(mean).T, dim=-1)


def save_text_classifier(path: str, weight: torch.Tensor, meta: dict) -> None:
    """Write class vectors ``[C, D]`` and what made them (class names,
    templates, source checkpoint...) for :class:`CosineClsHead`."""
    torch.save(
        dict(
            format=TEXT_CLASSIFIER_FORMAT,
            weight=weight.detach().float().cpu().contiguous(),
            meta=meta), path)


def load_text_classifier(path: str,
                         num_classes: Optional[int] = None,
                         in_channels: Optional[int] = None) -> torch.Tensor:
    """Read the class vectors written by :func:`save_text_classifier`.

    Args:
        path (str): The file.
        num_classes (int, optional): The class count the head expects.
        in_channels (int, optional): The feature size the head expects.

    Returns:
        Tensor: ``[C, D]`` float32 class vectors.

    Raises:
        CheckpointMismatchError: The file is not such a file, holds
            non-finite values, or its shape differs from the head's.
    """
    loaded = load_local_checkpoint(osp.expanduser(path), map_location='cpu')
    if not isinstance(loaded, dict) or \
            loaded.get('format') != TEXT_CLASSIFIER_FORMAT:
        raise CheckpointMismatchError(
            f'{path} is not a text classifier file written by '
            'tools/misc/clip_text_classifier.py')
    weight = loaded['weight']
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or \
            not torch.isfinite(weight).all():
        raise CheckpointMismatchError(
            f'{path}: the class vectors must be a finite [C, D] tensor')
    rows, dims = weight.shape
    if (num_classes is not None and rows != num_classes) or \
            (in_channels is not None and dims != in_channels):
        raise CheckpointMismatchError(
            f'{path} holds {rows} class vectors of {dims} dims, but the head '
            f'has num_classes={num_classes} and in_channels={in_channels}: '
            'make the vectors from the class names of the training dataset '
            '(one per class, in label order) and the CLIP model of the '
            'backbone')
    return weight.float()
