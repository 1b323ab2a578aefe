"""Convert a checkpoint of the official SHIKE code (``ResNet_MoE``) into a
shike_mm checkpoint.

The result loads with ``strict=True`` into the model of
``configs/_base_/models/shike_r32_cifar.py``, with the number of experts,
the depth and the number of classes read from the checkpoint::

    python tools/model_converters/shike_official_to_mm.py \\
        official.pth.tar shike_mm.pth [--stage {1,2}]

``--stage`` is the head's training stage stored in the result: 2 predicts
with the re-trained classifiers. It defaults to 2 when the checkpoint's
epoch is past the switch epoch (180), else 1.
"""
import argparse
import os.path as osp
import re
from collections import OrderedDict

import torch
from mmpretrain.registry import MODELS

from shike_mm.models.backbones import CIFARResNet
from shike_mm.utils import load_local_checkpoint
from shike_mm.utils.cli import add_trust_checkpoint, load_config, run_tool

SWITCH_EPOCH = 180
MODEL_CONFIG = '_base_/models/shike_r32_cifar.py'

# Official key prefix -> shike_mm key prefix; the first match wins.
PREFIX_RULES = [
    (r'conv1\.', 'backbone.conv1.'),
    (r'bn1\.', 'backbone.bn1.'),
    (r'(layer[12])\.(\d+)\.', r'backbone.\1.\2.'),
    (r'layer3s\.(\d+)\.(\d+)\.', r'neck.expert_stages.\1.\2.'),
    (r'shallow_exps\.(\d+)\.convs\.StridedConv(\d+)\.conv\.0\.',
     r'neck.aligners.\1.\2.conv.'),
    (r'shallow_exps\.(\d+)\.convs\.StridedConv(\d+)\.conv\.1\.',
     r'neck.aligners.\1.\2.bn.'),
    (r'classifiers\.(\d+)\.', r'head.classifiers.\1.'),
    (r'rt_classifiers\.(\d+)\.', r'head.retrain_classifiers.\1.'),
]
# The classifiers, whose official weights are [in, out].
CLASSIFIER_PREFIXES = ('head.classifiers.', 'head.retrain_classifiers.')
# Official residual blocks call their conv+BN shortcut `shortcut`.
BLOCK_RENAMES = [('.shortcut.0.', '.downsample.0.'),
                 ('.shortcut.1.', '.downsample.1.')]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official SHIKE (ResNet_MoE) checkpoint into '
        'a shike_mm checkpoint')
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='shike_mm checkpoint to write')
    parser.add_argument(
        '--stage',
        type=int,
        choices=(1, 2),
        help='training stage stored in the head (2 predicts with the '
        're-trained classifiers); default: 2 if the checkpoint epoch is past '
        '--switch-epoch, else 1')
    parser.add_argument(
        '--switch-epoch',
        type=int,
        default=SWITCH_EPOCH,
        help='first epoch of stage 2 in the official run (default: 180)')
    add_trust_checkpoint(parser, 'the source checkpoint')
    return parser.parse_args(argv)


def read_official(src):
    """Return the official state dict (``module.`` prefixes removed) and the
    checkpoint's epoch, or None for a bare state dict."""
    checkpoint = load_local_checkpoint(src, map_location='cpu')
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{src} holds a {type(checkpoint).__name__}, not a '
                         'state dict')
    epoch = None
    if 'state_dict' in checkpoint:
        epoch = checkpoint.get('epoch')
        checkpoint = checkpoint['state_dict']
    state = OrderedDict()
    for key, value in checkpoint.items():
        if not torch.is_tensor(value):
            raise ValueError(f'{src}: entry {key!r} is not a tensor; expected '
                             'a state dict or a dict holding `state_dict`')
        state[key[len('module.'):] if key.startswith('module.'
                                                     ) else key] = value
    return state, epoch


def rename_key(key):
    """The shike_mm name of an official key, or None if it is unknown."""
    for pattern, replacement in PREFIX_RULES:
        new_key, found = re.subn(f'^{pattern}', replacement, key)
        if found:
            for old, new in BLOCK_RENAMES:
                new_key = new_key.replace(old, new)
            return new_key
    return None


def convert_state(official, src):
    """Rename the official keys and transpose the classifier weights from
    the official ``[in, out]`` to ``[out, in]``."""
    converted = OrderedDict()
    unexpected = []
    for key, value in official.items():
        new_key = rename_key(key)
        if new_key is None:
            unexpected.append(key)
            continue
        if new_key.startswith(CLASSIFIER_PREFIXES):
            value = value.t().contiguous()
        converted[new_key] = value
    if unexpected:
        raise KeyError(f'{src} has keys that are not part of the official '
                       f'ResNet_MoE: {", ".join(unexpected)}')
    return converted


def count_indices(official, prefix, src):
    """Number of distinct ``prefix.{i}.`` submodules."""
    indices = {
        int(match.group(1))
        for match in (re.match(rf'{re.escape(prefix)}\.(\d+)\.', key)
                      for key in official) if match
    }
    if not indices:
        raise KeyError(f'{src} has no {prefix}.* keys; is it a checkpoint of '
                       'the official SHIKE ResNet_MoE?')
    return len(indices)


def build_target_model(official, src):
    """Build the shike_mm model matching the official checkpoint."""
    num_experts = count_indices(official, 'layer3s', src)
    num_blocks = count_indices(official, 'layer1', src)
    if 'classifiers.0.weight' not in official:
        raise KeyError(f'{src} lacks classifiers.0.weight')
    num_classes = official['classifiers.0.weight'].shape[1]

    depth = 6 * num_blocks + 2
    if depth not in CIFARResNet.arch_settings:
        raise ValueError(
            f'{src} is a ResNet-{depth} ({num_blocks} blocks per stage); '
            f'CIFARResNet supports depths {sorted(CIFARResNet.arch_settings)}')

    model_cfg = load_config(MODEL_CONFIG).model
    model_cfg.backbone.depth = depth
    model_cfg.neck.num_experts = num_experts
    model_cfg.neck.expert_stage.num_blocks = num_blocks
    model_cfg.head.num_experts = num_experts
    model_cfg.head.num_classes = num_classes
    return MODELS.build(model_cfg)


def convert(src, dst, stage=None, switch_epoch=SWITCH_EPOCH):
    """Convert ``src`` into ``dst``; return the saved ``meta``."""
    official, epoch = read_official(src)
    if stage is None:
        stage = 2 if epoch is not None and epoch > switch_epoch else 1
    model = build_target_model(official, src)
    converted = convert_state(official, src)
    converted['head.stage'] = torch.tensor(stage, dtype=torch.long)
    try:
        missing, unexpected = model.load_state_dict(converted, strict=False)
    except RuntimeError as err:
        raise ValueError(f'{src}: wrong tensor shapes for the SHIKE model '
                         f'they imply: {err}') from err
    if missing:
        raise KeyError(f'{src} lacks weights the SHIKE model needs (shown '
                       f'with shike_mm names): {", ".join(missing)}')
    if unexpected:
        raise KeyError(f'{src} has weights the SHIKE model does not have '
                       f'(shown with shike_mm names): {", ".join(unexpected)}')

    meta = dict(
        converted_from=osp.basename(src),
        source_epoch=epoch,
        stage=stage,
        depth=model.backbone.depth,
        num_experts=model.head.num_experts,
        num_classes=model.head.num_classes)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), dst)
    return meta


def main(argv=None):
    args = parse_args(argv)
    meta = convert(args.src, args.dst, args.stage, args.switch_epoch)
    print(f'Saved {args.dst}: ResNet-{meta["depth"]}, '
          f'{meta["num_experts"]} experts, {meta["num_classes"]} classes, '
          f'stage {meta["stage"]} (source epoch {meta["source_epoch"]})')


if __name__ == '__main__':
    run_tool(main)
