"""Whether the fast paths a config can ask for (MMEngine's AMP wrapper,
``torch.compile`` with inductor) can run here, for ``tools/train.py``,
which falls back with a warning, and the training benchmark, which skips
the row."""
from typing import Optional

#: The type names of MMEngine's AMP optimizer wrapper in a config.
AMP_WRAPPERS = ('AmpOptimWrapper', 'mmengine.AmpOptimWrapper')
#: The ``optim_wrapper`` keys that only the AMP wrapper takes.
AMP_ONLY_KEYS = ('loss_scale', 'dtype', 'use_fsdp')


def is_amp_wrapper(optim_wrapper: dict) -> bool:
    """Whether an ``optim_wrapper`` config is MMEngine's AMP wrapper."""
    return optim_wrapper.get('type') in AMP_WRAPPERS


def strip_amp_keys(optim_wrapper: dict) -> None:
    """Remove the keys only the AMP wrapper takes (:data:`AMP_ONLY_KEYS`)
    from an ``optim_wrapper`` config, in place, for a plain
    ``OptimWrapper``."""
    for key in AMP_ONLY_KEYS:
        optim_wrapper.pop(key, None)


def first_line(error: BaseException) -> str:
    """``'<ErrorType>: <first line of its message>'``."""
    lines = str(error).strip().splitlines()
    return f'{type(error).__name__}: {lines[0] if lines else ""}'


def inductor_missing(device_type: str) -> Optional[str]:
    """What torch.compile's default backend (inductor) lacks to generate
    code for a device, or None when it has it.

    Args:
        device_type (str): ``'cuda'`` (needs Triton) or ``'cpu'`` (needs a
            C++ compiler); other devices are not checked.

    Returns:
        str | None: e.g. ``'a C++ compiler for the CPU (RuntimeError: ...)'``
        or ``'Triton for CUDA, which is not installed'``.
    """
    if device_type == 'cuda':
        from torch.utils._triton import has_triton
        return None if has_triton() else \
            'Triton for CUDA, which is not installed'
    if device_type == 'cpu':
        try:
            from torch._inductor.cpp_builder import get_cpp_compiler
            get_cpp_compiler()
        except Exception as error:  # no compiler found, or an older torch
            return f'a C++ compiler for the CPU ({first_line(error)})'
    return None
