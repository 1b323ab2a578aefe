"""Safe checkpoint loading for MMEngine on torch >= 2.6.

MMEngine loads local checkpoints with a bare ``torch.load``. On torch >= 2.6
that means ``weights_only=True``, which refuses the pickled
``HistoryBuffer`` objects every MMEngine checkpoint carries, so ``--resume``
breaks. Here the local loader is replaced by one that keeps
``weights_only=True`` and allows exactly the globals MMEngine checkpoints
need. A checkpoint holding any other pickled global is refused with an
:class:`UntrustedCheckpointError` naming the file; loading it needs an
explicit opt-in (``--trust-checkpoint`` or ``SHIKE_MM_TRUST_CHECKPOINTS=1``).

Everything that reads a local checkpoint through MMEngine (``resume``,
``load_from``, ``tools/test.py``, ``init_cfg=dict(type='Pretrained')``,
``mmpretrain.get_model``) goes through :func:`load_local_checkpoint`.
"""
import os
import os.path as osp
import pickle
import re
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

TRUST_ENV = 'SHIKE_MM_TRUST_CHECKPOINTS'
# HistoryBuffer's built-in statistics; custom ones join its class registry.
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')
GETATTR_REFUSED = 'getattr is limited to HistoryBuffer statistics'


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled globals outside the allow-list."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file cannot be read at all."""


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's weights do not fit the model."""


def _history_buffer_method(owner: Any, name: str) -> Callable:
    """Stand-in for ``getattr`` while unpickling.

    ``HistoryBuffer`` pickles its statistics as methods, which pickle spells
    ``getattr(HistoryBuffer, 'mean')``. Only that use is allowed.
    """
    allowed = set(HISTORY_BUFFER_STATISTICS).union(
        HistoryBuffer._statistics_methods)
    is_buffer = owner is HistoryBuffer or isinstance(owner, HistoryBuffer)
    if not is_buffer or name not in allowed:
        raise pickle.UnpicklingError(
            f'{GETATTR_REFUSED}: getattr({owner!r}, {name!r}) refused')
    return getattr(owner, name)


def _numpy_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    reconstruct = np.ndarray((0, )).__reduce__()[0]
    scalar = np.float64(0).__reduce__()[0]
    found = [np.ndarray, np.dtype]
    # Checkpoints written under NumPy 1.x and 2.x spell the module apart.
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        found.append((reconstruct, f'{module}._reconstruct'))
        found.append((scalar, f'{module}.scalar'))
    # NumPy >= 1.25 pickles dtypes through their own classes.
    dtype_classes = getattr(np, 'dtypes', None)
    if dtype_classes is not None:
        found.extend(
            cls for cls in vars(dtype_classes).values()
            if isinstance(cls, type) and issubclass(cls, np.dtype))
    return found


def allowed_checkpoint_globals(
) -> List[Union[Callable, Tuple[Callable, str]]]:
    """The globals, beyond torch's own, that a checkpoint may hold."""
    return [
        HistoryBuffer,
        (_history_buffer_method, 'builtins.getattr'),
    ] + _numpy_globals()


def checkpoints_trusted() -> bool:
    """Whether the user opted in to full unpickling of checkpoints."""
    return os.environ.get(TRUST_ENV, '0').lower() in ('1', 'true', 'yes')


def _names_a_refused_global(message: str) -> bool:
    """Whether a weights-only failure is a global outside the allow-list
    (rather than a damaged file)."""
    return 'GLOBAL' in message or GETATTR_REFUSED in message


def _unpickler_reason(err: Exception) -> str:
    """The unpickler's own reason from torch's weights-only error, without
    torch's advice around it."""
    found = re.search(r'WeightsUnpickler error:\s*([^\n]+)', str(err))
    return found.group(1).strip() if found else type(err).__name__


def _unsafe_globals(filename: str) -> List[str]:
    allowed = {
        item[1] if isinstance(item, tuple) else
        f'{item.__module__}.{item.__qualname__}'
        for item in allowed_checkpoint_globals()
    }
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # legacy (non-zip) files cannot be scanned
        return []
    return [name for name in found if name not in allowed]


def load_local_checkpoint(filename: str, map_location=None) -> Any:
    """Load a local checkpoint with ``weights_only=True`` and the allow-list.

    Args:
        filename (str): Path of the checkpoint.
        map_location: Same as :func:`torch.load`.

    Returns:
        The unpickled checkpoint (usually a dict).

    Raises:
        FileNotFoundError: The file does not exist.
        UntrustedCheckpointError: The file holds pickled globals outside the
            allow-list; nothing of it was executed.
        CorruptCheckpointError: The file is not a readable checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint {filename} can not be found.')
    if checkpoints_trusted():
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(allowed_checkpoint_globals()):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if not _names_a_refused_global(str(err)):
            # torch's message advises weights_only=False; never relay it.
            raise CorruptCheckpointError(
                f'Checkpoint {filename} is corrupt or not a checkpoint that '
                f'weights-only loading can read: {_unpickler_reason(err)}'
            ) from None
        unsafe = _unsafe_globals(filename)
        listed = ', '.join(unsafe) if unsafe else 'see the cause below'
        raise UntrustedCheckpointError(
            f'Refused to load checkpoint {filename}: it holds pickled '
            f'globals outside the shike_mm allow-list ({listed}). Loading '
            'it could run arbitrary code. If you trust where it came '
            f'from, opt in explicitly with the environment variable '
            f'{TRUST_ENV}=1 (or --trust-checkpoint of tools/train.py, '
            'tools/test.py and tools/model_converters/'
            'shike_official_to_mm.py).') from None
    except (RuntimeError, EOFError, OSError) as err:
        raise CorruptCheckpointError(
            f'Checkpoint {filename} is corrupt or not a torch checkpoint: '
            f'{err or type(err).__name__}') from err


def register_safe_checkpoint_loader() -> None:
    """Route MMEngine's local checkpoint loading through
    :func:`load_local_checkpoint`."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)


def checkpoint_mismatch(model: nn.Module,
                        state_dict: Dict[str, Any]) -> Dict[str, List[str]]:
    """Compare a checkpoint's state dict with a model's.

    A ``module.`` prefix (distributed wrappers) is ignored, as MMEngine's
    loader does.

    Args:
        model (nn.Module): The model to load into (unwrapped).
        state_dict (dict): The checkpoint's ``state_dict``.

    Returns:
        dict[str, list[str]]: ``'missing'`` keys (in the model, not in the
        checkpoint), ``'unexpected'`` keys (the other way round) and
        ``'shape mismatch'`` entries (``'key: checkpoint (a, b) vs model
        (c, d)'``), each in model or checkpoint order.
    """
    expected = model.state_dict()
    given = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    shapes = []
    for key, value in expected.items():
        other = given.get(key)
        if hasattr(other, 'shape') and tuple(other.shape) != tuple(
                value.shape):
            shapes.append(f'{key}: checkpoint {tuple(other.shape)} vs '
                          f'model {tuple(value.shape)}')
    return {
        'missing': [k for k in expected if k not in given],
        'unexpected': [k for k in given if k not in expected],
        'shape mismatch': shapes,
    }


def describe_checkpoint_mismatch(filename: str,
                                 mismatch: Dict[str, List[str]],
                                 shown: int = 3) -> Optional[str]:
    """One sentence on what does not fit, or None when everything does.

    Args:
        filename (str): The checkpoint, named in the sentence.
        mismatch (dict[str, list[str]]): What :func:`checkpoint_mismatch`
            returns.
        shown (int): Entries listed per kind. Defaults to 3.

    Returns:
        str | None: E.g. ``"Checkpoint a.pth does not match the model: 2
        missing keys (head.fc.weight, head.fc.bias)"``.
    """
    parts = []
    for kind, entries in mismatch.items():
        if entries:
            more = ', ...' if len(entries) > shown else ''
            parts.append(f'{len(entries)} {kind} '
                         f'({", ".join(entries[:shown])}{more})')
    if not parts:
        return None
    return (f'Checkpoint {filename} does not match the model: ' +
            '; '.join(parts))
