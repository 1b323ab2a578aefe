"""Whether AMP and inductor can run here, as tools/train.py and the
training benchmark ask it."""
from mmengine.config import ConfigDict

from shike_mm.utils.fast_paths import (first_line, inductor_missing,
                                       is_amp_wrapper, strip_amp_keys)


def test_amp_wrapper_and_its_keys():
    wrapper = ConfigDict(
        type='mmengine.AmpOptimWrapper',
        optimizer=dict(type='SGD', lr=0.1),
        loss_scale='dynamic',
        dtype='bfloat16')
    assert is_amp_wrapper(wrapper)
    assert not is_amp_wrapper(dict(type='OptimWrapper'))
    strip_amp_keys(wrapper)
    assert set(wrapper) == {'type', 'optimizer'}


def test_inductor_without_a_cpp_compiler(no_cpp_compiler):
    missing = inductor_missing('cpu')
    assert missing.startswith('a C++ compiler for the CPU (')
    assert inductor_missing('mps') is None  # not checked


def test_first_line_names_the_error():
    assert first_line(RuntimeError('no compiler\nsearched: g++')) == \
        'RuntimeError: no compiler'
    assert first_line(ValueError()) == 'ValueError: '
