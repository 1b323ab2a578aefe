"""Convert CLIP weights (the OpenAI archive or an open_clip checkpoint) into
a shike_mm base checkpoint: the vision tower under MMPretrain's
``VisionTransformer`` keys (``backbone.``), CLIP's image projection
(``visual_proj.proj``) and the text tower (``text.``), which
``tools/misc/clip_text_classifier.py`` uses to initialise classifiers::

    python tools/model_converters/clip_to_mm.py ViT-B-16.pt \\
        checkpoints/clip-vit-b16_openai.pth

Sources:

- OpenAI's TorchScript archives (``ViT-B-16.pt``, ``ViT-L-14.pt``), read
  without running their code (``shike_mm.utils.torchscript_archive``);
- open_clip checkpoints of the OpenAI layout (``open_clip_pytorch_model.bin``
  or a training checkpoint, read with the safe loader; ``.safetensors``),
  with ``--act``: the file does not say whether the model's MLPs use
  QuickGELU (OpenAI's weights, open_clip's ``*-quickgelu`` models) or GELU
  (most other open_clip models).

The weights keep their stored dtype. ``meta['clip_arch']`` records the
architecture, ``meta['backbone_sha256']`` the content hash of the vision
weights that checkpoints trained on them will record.
"""
import argparse
import math
import os
import os.path as osp
import re

import torch

from shike_mm.models.peft.pretrained_base import (CLIP_ARCH_META_KEY,
                                                  state_dict_sha256)
from shike_mm.models.utils.clip_text_encoder import ACTIVATIONS, HEAD_WIDTH
from shike_mm.utils import load_local_checkpoint
from shike_mm.utils.cli import add_trust_checkpoint, run_tool
from shike_mm.utils.torchscript_archive import (is_torchscript_archive,
                                                read_torchscript_archive)

BACKBONE = 'backbone.'
TEXT = 'text.'
VISUAL_PROJECTION = 'visual_proj.proj'
#: CLIP's LayerNorm epsilon (torch's default).
CLIP_LN_EPS = 1e-5
# OpenAI vision keys -> MMPretrain VisionTransformer keys.
VISION_RULES = [
    (r'conv1\.weight', 'patch_embed.projection.weight'),
    (r'class_embedding', 'cls_token'),
    (r'positional_embedding', 'pos_embed'),
    (r'ln_pre\.(weight|bias)', r'pre_norm.\1'),
    (r'ln_post\.(weight|bias)', r'ln1.\1'),
    (r'transformer\.resblocks\.(\d+)\.ln_1\.(weight|bias)',
     r'layers.\1.ln1.\2'),
    (r'transformer\.resblocks\.(\d+)\.ln_2\.(weight|bias)',
     r'layers.\1.ln2.\2'),
    (r'transformer\.resblocks\.(\d+)\.attn\.in_proj_(weight|bias)',
     r'layers.\1.attn.qkv.\2'),
    (r'transformer\.resblocks\.(\d+)\.attn\.out_proj\.(weight|bias)',
     r'layers.\1.attn.proj.\2'),
    (r'transformer\.resblocks\.(\d+)\.mlp\.c_fc\.(weight|bias)',
     r'layers.\1.ffn.layers.0.0.\2'),
    (r'transformer\.resblocks\.(\d+)\.mlp\.c_proj\.(weight|bias)',
     r'layers.\1.ffn.layers.1.\2'),
]
TEXT_KEYS = re.compile(
    r'token_embedding\.weight|positional_embedding|text_projection|'
    r'ln_final\.(weight|bias)|transformer\.resblocks\.\d+\.(ln_[12]\.'
    r'(weight|bias)|attn\.(in_proj_(weight|bias)|out_proj\.(weight|bias))|'
    r'mlp\.c_(fc|proj)\.(weight|bias))')
# Tensors of CLIP checkpoints a classifier does not use.
UNUSED = re.compile(r'logit_scale|input_resolution|context_length|'
                    r'vocab_size|(.*\.)?attn_mask')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert CLIP weights (OpenAI archive or open_clip '
        'checkpoint) into a shike_mm base checkpoint')
    parser.add_argument('src', help='OpenAI archive or open_clip checkpoint')
    parser.add_argument('dst', help='shike_mm checkpoint to write')
    parser.add_argument(
        '--act',
        choices=ACTIVATIONS,
        help='MLP activation of the model: quick_gelu for OpenAI weights and '
        'open_clip *-quickgelu models, gelu for other open_clip models '
        '(required for open_clip checkpoints; an OpenAI archive says it)')
    add_trust_checkpoint(parser, 'an open_clip checkpoint')
    return parser.parse_args(argv)


def read_source(src: str, act):
    """The CLIP state dict of ``src`` and the activation of its MLPs."""
    if not osp.isfile(src):
        raise FileNotFoundError(f'{src}: no such file')
    if is_torchscript_archive(src):
        archive = read_torchscript_archive(src)
        found = {
            'quick_gelu' if name.endswith('QuickGELU') else 'gelu'
            for name in archive.classes if name.endswith('GELU')
        }
        if len(found) != 1:
            raise ValueError(f'{src}: cannot tell the MLP activation from '
                             f'the archive\'s classes; give --act')
        archive_act = found.pop()
        if act is not None and act != archive_act:
            raise ValueError(f'{src} uses {archive_act} in its MLPs, but '
                             f'--act {act} was given')
        return archive.tensors, archive_act
    if act is None:
        raise ValueError(
            f'{src} is not an OpenAI TorchScript archive, and a checkpoint '
            'does not record the MLP activation of its model: give --act '
            'quick_gelu (OpenAI weights, open_clip *-quickgelu models) or '
            '--act gelu (other open_clip models)')
    if src.endswith('.safetensors'):
        try:
            from safetensors.torch import load_file
        except ImportError as error:
            raise ValueError(f'{src}: reading .safetensors needs the '
                             f'safetensors package ({error})') from None
        return load_file(src), act
    loaded = load_local_checkpoint(src, map_location='cpu')
    state = loaded.get('state_dict', loaded) if isinstance(loaded,
                                                           dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{src} holds no state dict')
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}, act


def convert(state: dict, src: str):
    """Our keys for CLIP's; returns the new state dict and the keys left
    out (known, unused tensors)."""
    converted, unused, unknown = {}, [], []
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            continue
        if key.startswith('visual.'):
            name = key[len('visual.'):]
            if name == 'proj':
                converted[VISUAL_PROJECTION] = value
                continue
            for pattern, replacement in VISION_RULES:
                if re.fullmatch(pattern, name):
                    new = re.sub(pattern, replacement, name)
                    if name == 'class_embedding':
                        value = value.reshape(1, 1, -1)
                    elif name == 'positional_embedding':
                        value = value.unsqueeze(0)
                    converted[BACKBONE + new] = value
                    break
            else:
                (unused if UNUSED.fullmatch(name) else unknown).append(key)
        elif TEXT_KEYS.fullmatch(key):
            converted[TEXT + key] = value
        else:
            (unused if UNUSED.fullmatch(key) else unknown).append(key)
    if unknown:
        raise ValueError(
            f'{src} is not a CLIP ViT of the OpenAI layout: {len(unknown)} '
            f'keys this converter does not know ({", ".join(unknown[:5])}'
            f'{", ..." if len(unknown) > 5 else ""})')
    required = [
        BACKBONE + 'patch_embed.projection.weight', BACKBONE + 'pos_embed',
        VISUAL_PROJECTION, TEXT + 'token_embedding.weight',
        TEXT + 'text_projection'
    ]
    missing = [key for key in required if key not in converted]
    if missing:
        raise ValueError(f'{src} lacks parts of a CLIP ViT with its text '
                         f'tower (no weights for {", ".join(missing)})')
    return converted, unused


def architecture(converted: dict, act: str) -> dict:
    """What the converted weights are: widths, depths, patch and image
    size, activation and LayerNorm epsilon."""
    patch = converted[BACKBONE + 'patch_embed.projection.weight']
    width, _, patch_size, _ = patch.shape
    tokens = converted[BACKBONE + 'pos_embed'].shape[1]
    grid = math.isqrt(tokens - 1)
    vocab_size, text_width = converted[TEXT + 'token_embedding.weight'].shape

    def depth(prefix):
        return len({
            int(m.group(1))
            for m in map(
                re.compile(re.escape(prefix) + r'(\d+)\.').match, converted)
            if m
        })

    for name, dims in (('vision', width), ('text', text_width)):
        if dims % HEAD_WIDTH:
            raise ValueError(f'CLIP {name} width {dims} is not a multiple of '
                             f'{HEAD_WIDTH}, the width of its heads')
    return dict(
        embed_dims=int(width),
        num_layers=depth(BACKBONE + 'layers.'),
        num_heads=int(width) // HEAD_WIDTH,
        patch_size=int(patch_size),
        image_size=int(patch_size) * grid,
        act=act,
        ln_eps=CLIP_LN_EPS,
        joint_dims=int(converted[VISUAL_PROJECTION].shape[1]),
        text=dict(
            width=int(text_width),
            num_layers=depth(TEXT + 'transformer.resblocks.'),
            num_heads=int(text_width) // HEAD_WIDTH,
            context_length=int(converted[TEXT +
                                         'positional_embedding'].shape[0]),
            vocab_size=int(vocab_size)))


def main(argv=None):
    args = parse_args(argv)
    state, act = read_source(args.src, args.act)
    converted, unused = convert(state, args.src)
    arch = architecture(converted, act)
    backbone = {
        k[len(BACKBONE):]: v
        for k, v in converted.items() if k.startswith(BACKBONE)
    }
    sha256 = state_dict_sha256(backbone)
    meta = {
        CLIP_ARCH_META_KEY: arch,
        'source': osp.basename(args.src),
        'backbone_sha256': sha256,
    }
    folder = osp.dirname(osp.abspath(args.dst))
    os.makedirs(folder, exist_ok=True)
    partial = args.dst + '.part'
    torch.save(dict(state_dict=converted, meta=meta), partial)
    os.replace(partial, args.dst)
    print(f'{args.src} -> {args.dst}: CLIP ViT (width {arch["embed_dims"]}, '
          f'{arch["num_layers"]} blocks, patch {arch["patch_size"]}, image '
          f'{arch["image_size"]}, {act}), text tower of '
          f'{arch["text"]["num_layers"]} blocks; {len(converted)} tensors')
    if unused:
        print(f'left out (unused by a classifier): {", ".join(unused)}')
    print(f'vision weights sha256: {sha256}')
    return meta


if __name__ == '__main__':
    run_tool(main)
