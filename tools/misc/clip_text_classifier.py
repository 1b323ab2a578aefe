"""Initial classifier weights from class names through CLIP's text tower
(LIFT's head initialisation), for ``CosineClsHead(text_weights=...)``::

    python tools/misc/clip_text_classifier.py \\
        checkpoints/clip-vit-b16_openai.pth \\
        checkpoints/clip-vit-b16_text-classifier_imagenet-lt.pth \\
        --class-names imagenet-lt

Each class's prompt (``--template``, default ``"a photo of a {}."``; the
class name with underscores written as spaces) goes through the text tower;
the normalised text features (averaged over the templates of a prompt
ensemble) are mapped into the visual feature space with CLIP's image
projection, ``t @ P.T``, and normalised again.

Class names (one source):

- ``--class-names cifar100|imagenet-lt|places-lt``: the lists shipped with
  shike_mm;
- ``--class-names FILE``: one name per line, in label order, or
  iNaturalist 2018's ``categories.json``;
- ``--config CONFIG``: the ``classes`` of the config's training dataset.

The CLIP checkpoint is the output of
``tools/model_converters/clip_to_mm.py``. The tokenizer is open_clip's,
whose vocabulary ships with the package: nothing is downloaded.
"""
import argparse
import os
import os.path as osp
import re
import time

from shike_mm.datasets.class_names import BUILTIN_CLASS_NAMES, load_class_names
from shike_mm.models.peft.pretrained_base import (CLIP_ARCH_META_KEY,
                                                  state_dict_sha256)
from shike_mm.models.utils.clip_text_encoder import CLIPTextEncoder
from shike_mm.models.utils.text_classifier import (DEFAULT_TEMPLATE,
                                                   check_templates,
                                                   save_text_classifier,
                                                   text_classifier_weights)
from shike_mm.utils import load_local_checkpoint
from shike_mm.utils.cli import load_config, run_tool

#: Prompt ensembles (LIFT's "ensemble" prompt is the first).
PROMPT_ENSEMBLES = ('openai-imagenet', )
TEXT_PREFIX = 'text.'
VISUAL_PROJECTION = 'visual_proj.proj'
BACKBONE = 'backbone.'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Initial classifier weights from class names through '
        'CLIP\'s text tower')
    parser.add_argument(
        'checkpoint', help='CLIP checkpoint converted by clip_to_mm.py')
    parser.add_argument('out', help='file to write')
    names = parser.add_mutually_exclusive_group(required=True)
    names.add_argument(
        '--class-names',
        help=f'one of {sorted(BUILTIN_CLASS_NAMES)}, a file with one name '
        'per line in label order, or iNaturalist 2018\'s categories.json')
    names.add_argument(
        '--config', help='take the classes of this config\'s training dataset')
    prompts = parser.add_mutually_exclusive_group()
    prompts.add_argument(
        '--template',
        action='append',
        help=f'prompt template with {{}} for the class name (default: '
        f'"{DEFAULT_TEMPLATE}"); repeat it for an ensemble')
    prompts.add_argument(
        '--prompt-ensemble',
        choices=PROMPT_ENSEMBLES,
        help='the 80 ImageNet templates of CLIP\'s zero-shot evaluation '
        '(LIFT\'s "ensemble" prompt)')
    parser.add_argument(
        '--num-classes',
        type=int,
        help='the class count of the model, checked against the names '
        '(with --config: the config\'s model.head.num_classes)')
    parser.add_argument(
        '--device', default='cpu', help='device of the text tower')
    parser.add_argument(
        '--batch-size', type=int, default=256, help='prompts per pass')
    return parser.parse_args(argv)


def ensemble_templates(name: str) -> list:
    """The templates of a prompt ensemble: ``openai-imagenet`` is the 80
    templates of CLIP's ImageNet zero-shot evaluation, as open_clip ships
    them."""
    if name != 'openai-imagenet':
        raise ValueError(f'Unknown prompt ensemble {name!r}')
    from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES
    return [make('{}') for make in OPENAI_IMAGENET_TEMPLATES]


def dataset_class_names(config: str):
    """The classes of the config's training dataset and the class count
    of its head."""
    from mmpretrain.registry import DATASETS
    cfg = load_config(config)
    dataset_cfg = dict(cfg.train_dataloader.dataset, lazy_init=True)
    dataset = DATASETS.build(dataset_cfg)
    classes = dataset.metainfo.get('classes')
    if not classes:  # some datasets name their classes when they load
        dataset.full_init()
        classes = dataset.metainfo.get('classes')
    if not classes:
        raise ValueError(f'{config}: the training dataset has no classes in '
                         'its metainfo; give --class-names')
    if all(re.fullmatch(r'class_\d+', str(name)) for name in classes):
        raise ValueError(
            f'{config}: the training dataset names its classes '
            f'{classes[0]}, {classes[1]}, ... (placeholders, not words a '
            'text tower knows); give --class-names')
    head = cfg.model.get('head') or {}
    return list(classes), head.get('num_classes')


def read_clip(checkpoint: str):
    """The text tower, the image projection and the architecture record of
    a converted CLIP checkpoint."""
    loaded = load_local_checkpoint(checkpoint, map_location='cpu')
    state = loaded.get('state_dict', {}) if isinstance(loaded, dict) else {}
    meta = loaded.get('meta', {}) if isinstance(loaded, dict) else {}
    arch = meta.get(CLIP_ARCH_META_KEY)
    text = {
        k[len(TEXT_PREFIX):]: v
        for k, v in state.items() if k.startswith(TEXT_PREFIX)
    }
    if not arch or not text or VISUAL_PROJECTION not in state:
        raise ValueError(
            f'{checkpoint} is not a CLIP checkpoint with its text tower as '
            'tools/model_converters/clip_to_mm.py writes it (it needs '
            f'{TEXT_PREFIX}* weights, {VISUAL_PROJECTION} and meta.'
            f'{CLIP_ARCH_META_KEY})')
    encoder = CLIPTextEncoder.from_state_dict(
        text, act=arch['act'], ln_eps=arch['ln_eps'])
    backbone = {
        k[len(BACKBONE):]: v
        for k, v in state.items() if k.startswith(BACKBONE)
    }
    return encoder, state[VISUAL_PROJECTION].float(), arch, \
        state_dict_sha256(backbone)


def main(argv=None):
    args = parse_args(argv)
    if args.prompt_ensemble:
        templates = ensemble_templates(args.prompt_ensemble)
    else:
        templates = args.template or [DEFAULT_TEMPLATE]
    templates = check_templates(templates)
    if args.config:
        class_names, num_classes = dataset_class_names(args.config)
        source = f'{args.config} (training dataset classes)'
        num_classes = args.num_classes or num_classes
    else:
        class_names = load_class_names(args.class_names)
        source = args.class_names
        num_classes = args.num_classes
    if num_classes is not None and len(class_names) != num_classes:
        raise ValueError(
            f'{source} has {len(class_names)} class names, but the model has '
            f'{num_classes} classes: give one name per class, in label order')
    encoder, projection, arch, backbone_sha256 = read_clip(args.checkpoint)
    encoder.to(args.device)
    start = time.perf_counter()
    weight = text_classifier_weights(encoder, projection.to(args.device),
                                     class_names, templates, args.batch_size)
    seconds = time.perf_counter() - start
    folder = osp.dirname(osp.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    save_text_classifier(
        args.out, weight,
        dict(
            classes=class_names,
            class_names_source=source,
            templates=templates,
            clip_checkpoint=args.checkpoint,
            backbone_sha256=backbone_sha256,
            clip_arch=arch))
    print(f'{args.out}: {weight.shape[0]} classes x {weight.shape[1]} dims '
          f'from {source}, {len(templates)} template(s), e.g. '
          f'"{templates[0].format(class_names[0].replace("_", " "))}" '
          f'({seconds:.1f} s)')
    return weight


if __name__ == '__main__':
    run_tool(main)
