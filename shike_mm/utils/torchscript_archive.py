"""Read the tensors of a TorchScript archive without running its code.

``torch.jit.load`` compiles the archive's TorchScript and restores its
objects; ``torch.load(weights_only=True)`` refuses TorchScript archives.
:func:`read_torchscript_archive` reads the archive as the zip file it is:
its ``data.pkl`` is unpickled by an unpickler that resolves a closed list
of globals (tensor rebuilding, storage types, ``OrderedDict``, and the
archive's own ``__torch__`` classes, which become plain attribute
holders); any other global stops the reading. The tensor bytes come from
the archive's ``data/`` records.
"""
import io
import pickle
import sys
import zipfile
from collections import OrderedDict
from typing import Any, Dict, NamedTuple, Set

import torch

#: Storage classes a TorchScript pickle names, by dtype.
STORAGE_DTYPES = {
    'DoubleStorage': torch.float64,
    'FloatStorage': torch.float32,
    'HalfStorage': torch.float16,
    'BFloat16Storage': torch.bfloat16,
    'LongStorage': torch.int64,
    'IntStorage': torch.int32,
    'ShortStorage': torch.int16,
    'CharStorage': torch.int8,
    'ByteStorage': torch.uint8,
    'BoolStorage': torch.bool,
}


class UnsupportedArchiveError(ValueError):
    """The archive is not a TorchScript archive this reader understands."""


class ScriptObject:
    """Stand-in for an object of the archive's ``__torch__`` classes: it
    only stores the attributes the pickle gives it. Each class of the
    archive gets a subclass named after it (:func:`script_class`)."""

    class_name = ''

    def __init__(self):
        self.attributes: Dict[str, Any] = {}

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise UnsupportedArchiveError(
                f'{self.class_name}: object state is a {type(state).__name__}'
                ', not a dict of attributes')
        self.attributes = state


class _StorageType:

    def __init__(self, name: str):
        self.dtype = STORAGE_DTYPES[name]


_SCRIPT_CLASSES: Dict[str, type] = {}


def script_class(class_name: str) -> type:
    """The :class:`ScriptObject` subclass standing for an archive class."""
    if class_name not in _SCRIPT_CLASSES:
        _SCRIPT_CLASSES[class_name] = type('ScriptObject', (ScriptObject, ),
                                           dict(class_name=class_name))
    return _SCRIPT_CLASSES[class_name]


def _rebuild_tensor(storage,
                    offset,
                    size,
                    stride,
                    requires_grad=False,
                    backward_hooks=None,
                    metadata=None):
    return storage.as_strided(tuple(size), tuple(stride), offset)


def _restore_type_tag(value, type_tag):
    return value


def _build_list(values):
    return list(values)


#: The data constructors of ``torch.jit._pickle`` TorchScript pickles use;
#: each only builds a plain value.
JIT_PICKLE_BUILDERS = {
    'restore_type_tag': _restore_type_tag,
    'build_intlist': _build_list,
    'build_doublelist': _build_list,
    'build_boollist': _build_list,
    'build_tensorlist': _build_list,
}


class _ArchiveUnpickler(pickle.Unpickler):

    def __init__(self, file, archive: zipfile.ZipFile, root: str):
        super().__init__(file)
        self.archive = archive
        self.root = root
        self.storages: Dict[str, torch.Tensor] = {}

    def find_class(self, module: str, name: str):
        if module == 'torch._utils' and name == '_rebuild_tensor_v2':
            return _rebuild_tensor
        if module == 'torch' and name in STORAGE_DTYPES:
            return _StorageType(name)
        if module == 'collections' and name == 'OrderedDict':
            return OrderedDict
        if module == 'torch.jit._pickle' and name in JIT_PICKLE_BUILDERS:
            return JIT_PICKLE_BUILDERS[name]
        if module == '__torch__' or module.startswith('__torch__.'):
            return script_class(f'{module}.{name}')
        raise UnsupportedArchiveError(
            f'the archive\'s pickle names {module}.{name}, which this reader '
            'does not resolve (it runs no code from the archive)')

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5
                and pid[0] == 'storage' and isinstance(pid[1], _StorageType)):
            raise UnsupportedArchiveError(f'unknown persistent record {pid!r}')
        _, storage_type, key, _location, numel = pid
        if key not in self.storages:
            raw = self.archive.read(f'{self.root}/data/{key}')
            flat = torch.frombuffer(
                bytearray(raw), dtype=storage_type.dtype) if raw else \
                torch.empty(0, dtype=storage_type.dtype)
            if flat.numel() < numel:
                raise UnsupportedArchiveError(
                    f'storage {key} holds {flat.numel()} values, the pickle '
                    f'says {numel}')
            self.storages[key] = flat
        return self.storages[key]


class ScriptArchive(NamedTuple):
    """What :func:`read_torchscript_archive` finds in an archive.

    Attributes:
        tensors (dict[str, Tensor]): Tensors by attribute path, e.g.
            ``visual.conv1.weight``, as ``torch.jit.load(path).state_dict()``
            names the parameters and buffers (plain tensor attributes are
            included too), in their stored dtypes.
        classes (set[str]): The archive's module classes, e.g.
            ``__torch__.clip.model.QuickGELU``.
    """
    tensors: Dict[str, torch.Tensor]
    classes: Set[str]


def _collect(obj: Any, prefix: str, found: ScriptArchive) -> None:
    if isinstance(obj, torch.Tensor):
        found.tensors[prefix[:-1]] = obj.clone()
    elif isinstance(obj, ScriptObject):
        found.classes.add(obj.class_name)
        for name, value in obj.attributes.items():
            _collect(value, f'{prefix}{name}.', found)


def is_torchscript_archive(path: str) -> bool:
    """Whether ``path`` is a zip file with a TorchScript ``data.pkl`` and
    ``code/``."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any(n.endswith('/data.pkl') for n in names) and any('/code/' in n
                                                               for n in names)


def read_torchscript_archive(path: str) -> ScriptArchive:
    """The tensors and module classes of a TorchScript archive.

    Args:
        path (str): The archive (e.g. OpenAI's ``ViT-B-16.pt``).

    Returns:
        ScriptArchive: Its tensors by attribute path and its classes.

    Raises:
        UnsupportedArchiveError: Not a TorchScript archive, or one whose
            pickle needs a global outside the allow-list.
    """
    if sys.byteorder != 'little':
        raise UnsupportedArchiveError(
            'reading TorchScript archives needs a little-endian machine')
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith('/data.pkl')]
        roots = [n[:-len('/data.pkl')] for n in pickles]
        roots = [r for r in roots if '/' not in r]
        if len(roots) != 1:
            raise UnsupportedArchiveError(
                f'{path}: expected one <name>/data.pkl in the archive, found '
                f'{pickles[:3]}')
        root = roots[0]
        order = f'{root}/byteorder'
        if order in archive.namelist() and \
                archive.read(order).strip() != b'little':
            raise UnsupportedArchiveError(
                f'{path}: big-endian archives are not supported')
        unpickler = _ArchiveUnpickler(
            io.BytesIO(archive.read(f'{root}/data.pkl')), archive, root)
        try:
            obj = unpickler.load()
        except UnsupportedArchiveError as error:
            raise UnsupportedArchiveError(f'{path}: {error}') from None
    if not isinstance(obj, ScriptObject):
        raise UnsupportedArchiveError(
            f'{path}: the archive holds a {type(obj).__name__}, not a module')
    found = ScriptArchive({}, set())
    _collect(obj, '', found)
    return found
