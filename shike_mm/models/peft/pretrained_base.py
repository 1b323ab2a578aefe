"""Pretrained base weights of parameter-efficient fine-tuning: loaded
strictly when the model is built, frozen, and left out of checkpoints."""
import hashlib
import logging
import re
from itertools import chain
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint
from mmpretrain.registry import MODELS

from shike_mm.utils.checkpoint import CheckpointMismatchError
from .wrapped_module import WrappedModule

#: ``meta`` key of a converted CLIP checkpoint describing its architecture
#: (written by ``tools/model_converters/clip_to_mm.py``).
CLIP_ARCH_META_KEY = 'clip_arch'
#: ``meta`` key of a trained checkpoint naming the base weights it was
#: trained on (written by ``CheckpointMatchHook``).
BASE_WEIGHTS_META_KEY = 'base_weights'


def state_dict_sha256(state_dict: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of the tensors of a state dict.

    For every key in sorted order the key, the dtype, the shape and the raw
    bytes of the tensor are hashed, so the digest names the weights
    themselves, not one serialisation of them (re-saving a file with
    another torch version keeps it). Entries that are not tensors are left
    out.

    Args:
        state_dict (Mapping[str, Tensor]): The weights.

    Returns:
        str: 64 hexadecimal digits.
    """
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        tensor = state_dict[key]
        if not isinstance(tensor, torch.Tensor):
            continue
        tensor = tensor.detach().cpu().contiguous().reshape(-1)
        header = f'{key}\0{tensor.dtype}\0{tuple(state_dict[key].shape)}\0'
        digest.update(header.encode('utf-8'))
        digest.update(memoryview(tensor.view(torch.uint8).numpy()))
    return digest.hexdigest()


def _layer_count(keys) -> Optional[int]:
    """Number of ``layers.<i>.`` blocks named by ``keys``."""
    found = {
        int(m.group(1))
        for m in map(re.compile(r'layers\.(\d+)\.').match, keys) if m
    }
    return len(found) or None


def _first_of(module: nn.Module, kinds) -> Optional[nn.Module]:
    return next((m for m in module.modules() if isinstance(m, kinds)), None)


@MODELS.register_module()
class PretrainedBase(WrappedModule):
    """A module built on pretrained weights, which the model loads when it
    is built and (by default) never trains.

    The module is built and ``checkpoint`` loaded into it strictly right
    away, so every tool that builds the model (``tools/test.py``,
    ``mmpretrain.get_model``, the inferencers) has the base weights without
    running ``init_weights``. With ``frozen=True`` its weights are frozen
    from then on and left out of the model's state dict: checkpoints hold
    only what trained (adapters and heads, inside or around this module),
    and a state dict without the base weights loads into the model, which
    keeps the ones it holds. The content hash of the loaded weights
    (:func:`state_dict_sha256`) is kept in ``base_weights``;
    ``CheckpointMatchHook`` writes it into every checkpoint's meta and
    refuses a checkpoint trained on other base weights.

    Loading fails with one message naming the file when the checkpoint
    does not fit the module: missing or extra keys, another width, depth,
    patch size or image size, a checkpoint of another activation or
    LayerNorm epsilon (as recorded by ``clip_to_mm.py``), or a checkpoint
    with a trained classification head (weights fine-tuned on a labelled
    dataset such as ImageNet-1k).

    Args:
        module (dict): Config of the module, e.g. a
            ``VisionTransformer``.
        checkpoint (str, optional): File of the base weights, e.g. the
            output of ``tools/model_converters/clip_to_mm.py``. None keeps
            the module's own (random) initialisation, with a warning: for
            tests and speed measurements. Defaults to None.
        prefix (str): Key prefix of the module's weights in the checkpoint.
            Defaults to ``'backbone.'``.
        frozen (bool): Freeze the base weights and leave them out of state
            dicts (parameter-efficient fine-tuning, linear probing), or
            train them with everything else (full fine-tuning). Defaults to
            True.
        init_cfg (dict, optional): Must be None: the base weights are set
            when the module is built.
    """

    def __init__(self,
                 module: dict,
                 checkpoint: Optional[str] = None,
                 prefix: str = 'backbone.',
                 frozen: bool = True,
                 init_cfg: Optional[dict] = None):
        if init_cfg is not None:
            raise ValueError(
                'PretrainedBase sets its weights from `checkpoint` when it is '
                f'built; it takes no init_cfg (got {init_cfg})')
        super().__init__()
        self.module = MODELS.build(module)
        self.frozen = frozen
        self.prefix = prefix
        if checkpoint is None:
            self.module.init_weights()
            self.base_weights = dict(checkpoint=None, sha256=None)
            print_log(
                f'PretrainedBase: no checkpoint, {type(self.module).__name__} '
                'keeps its random initialisation',
                logger='current',
                level=logging.WARNING)
        else:
            sha256 = self._load(checkpoint)
            self.base_weights = dict(checkpoint=checkpoint, sha256=sha256)
            print_log(
                f'PretrainedBase: loaded {checkpoint} (weights under '
                f'{prefix!r}, sha256 {sha256})',
                logger='current')
        # The weights are set: the model's init_weights must not touch them.
        self._is_init = True
        self.module._is_init = True
        # Where each base tensor lives (module, name): the modules survive
        # wrapping, ``.to()`` (which replaces buffers) and deep copies.
        self._base_entries = [
            (owner, name) for owner in self.module.modules()
            for name, tensor in chain(owner._parameters.items(),
                                      owner._buffers.items())
            if tensor is not None
        ]
        if frozen:
            for param in self.module.parameters():
                param.requires_grad_(False)
            self._register_state_dict_hook(self._drop_base_weights)
            self._register_load_state_dict_pre_hook(self._fill_base_weights)

    def _base_ids(self) -> set:
        ids = set()
        for owner, name in self._base_entries:
            tensor = owner._parameters.get(name)
            if tensor is None:
                tensor = owner._buffers.get(name)
            if tensor is not None:
                ids.add(id(tensor))
        return ids

    def named_base_tensors(self,
                           prefix: str = ''
                           ) -> Iterator[Tuple[str, torch.Tensor]]:
        """The base weights under their current names (blocks wrapped by
        adapters included; a block shared by several wrappers once per
        name), each prefixed with ``prefix``."""
        base = self._base_ids()
        for named in (self.named_parameters(remove_duplicate=False),
                      self.named_buffers(remove_duplicate=False)):
            for name, tensor in named:
                if id(tensor) in base:
                    yield prefix + name, tensor

    def _drop_base_weights(self, module, state_dict, prefix, local_metadata):
        for name, _ in self.named_base_tensors(prefix):
            state_dict.pop(name, None)

    def _fill_base_weights(self, state_dict, prefix, local_metadata, strict,
                           missing_keys, unexpected_keys, error_msgs):
        for name, tensor in self.named_base_tensors(prefix):
            state_dict.setdefault(name, tensor.detach())

    def _load(self, checkpoint: str) -> str:
        """Load ``checkpoint`` strictly into the module; returns its hash."""
        loaded = _load_checkpoint(checkpoint, map_location='cpu')
        state = loaded.get('state_dict', loaded) if isinstance(loaded,
                                                               dict) else None
        if not isinstance(state, dict):
            raise CheckpointMismatchError(
                f'Base weights {checkpoint} hold no state dict')
        meta = loaded.get('meta') or {}
        self._check_no_trained_head(checkpoint, state)
        weights = {
            key[len(self.prefix):]: value
            for key, value in state.items() if key.startswith(self.prefix)
        }
        if not weights:
            example = ', '.join(list(state)[:3])
            raise CheckpointMismatchError(
                f'Base weights {checkpoint} hold no keys under '
                f'{self.prefix!r} (first keys: {example}). Convert CLIP '
                'weights with tools/model_converters/clip_to_mm.py, or set '
                'PretrainedBase.prefix')
        self._check_architecture(checkpoint, weights,
                                 meta.get(CLIP_ARCH_META_KEY))
        self.module.load_state_dict(weights, strict=True)
        return state_dict_sha256(weights)

    def _check_no_trained_head(self, checkpoint: str, state: dict) -> None:
        head = [k for k in state if k.startswith('head.')]
        if not head:
            return
        shapes = ', '.join(f'{k} {tuple(state[k].shape)}' for k in head[:2])
        raise CheckpointMismatchError(
            f'Base weights {checkpoint} hold a trained classification head '
            f'({shapes}): they were fine-tuned on a labelled dataset, such '
            'as MMPretrain\'s *_clip-openai-pre_3rdparty_in1k weights, '
            'which were fine-tuned on the full, balanced ImageNet-1k (the '
            'source of ImageNet-LT and its test images). Start from the '
            'pretrained CLIP weights (the OpenAI archive or an open_clip '
            'checkpoint, converted with tools/model_converters/clip_to_mm.'
            'py); remove the head.* keys only if these are truly the weights '
            'you mean')

    def _check_architecture(self, checkpoint: str, weights: dict,
                            arch: Optional[dict]) -> None:
        expected = self.module.state_dict()
        problems: List[str] = []
        ours, theirs = _layer_count(expected), _layer_count(weights)
        if ours != theirs:
            problems.append(f'{theirs} blocks in the checkpoint, {ours} in '
                            'the model')
        patch = 'patch_embed.projection.weight'
        if patch in expected and patch in weights and \
                weights[patch].shape != expected[patch].shape:
            width, _, size, _ = weights[patch].shape
            m_width, _, m_size, _ = expected[patch].shape
            problems.append(f'patch size {size} and width {width} in the '
                            f'checkpoint ({patch}), patch size {m_size} and '
                            f'width {m_width} in the model')
        shapes = [
            f'{k} {tuple(weights[k].shape)} vs {tuple(v.shape)}'
            for k, v in expected.items()
            if k in weights and weights[k].shape != v.shape and k != patch
        ]
        if shapes:
            problems.append('other shapes (checkpoint vs model): ' +
                            ', '.join(shapes[:3]) +
                            (', ...' if len(shapes) > 3 else ''))
        missing = [k for k in expected if k not in weights]
        unexpected = [k for k in weights if k not in expected]
        if ours == theirs and (missing or unexpected):
            for kind, keys in (('missing', missing), ('unexpected',
                                                      unexpected)):
                if keys:
                    problems.append(f'{len(keys)} {kind} keys (' +
                                    ', '.join(keys[:3]) +
                                    (', ...' if len(keys) > 3 else '') + ')')
        if arch:
            problems += self._arch_meta_problems(arch)
        if problems:
            raise CheckpointMismatchError(
                f'Base weights {checkpoint} do not fit '
                f'{type(self.module).__name__}: ' + '; '.join(problems))

    def _arch_meta_problems(self, arch: dict) -> List[str]:
        """Differences from what the converter recorded about the weights
        that shapes do not show."""
        problems = []
        act = arch.get('act')
        found = _first_of(self.module, _activation_kinds())
        if act is not None and found is not None and \
                type(found).__name__.lower() != act.replace('_', '').lower():
            problems.append(
                f'the weights were trained with {act} in the MLPs, the model '
                f'uses {type(found).__name__} (set layer_cfgs=dict(act_cfg='
                f"dict(type='{ACTIVATION_TYPES.get(act, act)}')))")
        eps = arch.get('ln_eps')
        norm = _first_of(self.module, nn.LayerNorm)
        if eps is not None and norm is not None and norm.eps != eps:
            problems.append(
                f'the weights were trained with LayerNorm eps {eps}, the '
                f'model uses {norm.eps} (set norm_cfg=dict(type=\'LN\', '
                f'eps={eps}))')
        return problems

    def init_weights(self) -> None:
        """Nothing to do: the weights were set when the module was built."""


#: Activation of a converted checkpoint -> its MMPretrain config type.
ACTIVATION_TYPES = {'quick_gelu': 'QuickGELU', 'gelu': 'GELU'}


def _activation_kinds() -> tuple:
    from mmpretrain.models.utils.clip_generator_helper import QuickGELU
    return (QuickGELU, nn.GELU)


def base_weights_of(model: nn.Module) -> Dict[str, dict]:
    """The base weights of every :class:`PretrainedBase` in ``model``,
    ``{module name: {'checkpoint': ..., 'sha256': ...}}``."""
    return {
        name: dict(module.base_weights)
        for name, module in model.named_modules()
        if isinstance(module, PretrainedBase)
    }


def _describe(record: dict) -> str:
    if record.get('sha256') is None:
        return 'no base weights (PretrainedBase.checkpoint=None)'
    return f'{record.get("checkpoint")} (sha256 {record["sha256"]})'


def base_weights_problems(model: nn.Module, checkpoint: dict,
                          name: str) -> Tuple[List[str], List[str]]:
    """Compare the base weights a checkpoint was trained on (its
    ``meta['base_weights']``) with those the model holds.

    Args:
        model (nn.Module): The model (unwrapped).
        checkpoint (dict): The loaded checkpoint.
        name (str): The checkpoint's name, for the messages.

    Returns:
        tuple[list[str], list[str]]: Errors (other base weights: the
        trained weights were fitted to other frozen weights) and warnings
        (a checkpoint that records none, which cannot be checked).
    """
    ours = base_weights_of(model)
    if not ours:
        return [], []
    recorded = (checkpoint.get('meta') or {}).get(BASE_WEIGHTS_META_KEY)
    if recorded is None:
        return [], [
            f'{name} does not record the base weights it was trained on; '
            'the model holds ' + '; '.join(f'{_describe(r)} at {m}'
                                           for m, r in ours.items()) +
            ', which cannot be checked against them'
        ]
    errors = []
    for module_name, record in ours.items():
        theirs = recorded.get(module_name)
        if theirs is None:
            errors.append(f'{name} records no base weights for '
                          f'{module_name} (it records {sorted(recorded)})')
        elif theirs.get('sha256') != record.get('sha256'):
            errors.append(
                f'{name} was trained on the base weights '
                f'{_describe(theirs)}, but the model holds '
                f'{_describe(record)} at {module_name}. Build the model on '
                'the base weights the checkpoint was trained on (the '
                'PretrainedBase checkpoint of its config)')
    return errors, []
