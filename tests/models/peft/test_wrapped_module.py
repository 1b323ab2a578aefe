"""WrappedModule runs the module it wraps and answers for its attributes."""
import pytest
import torch
import torch.nn as nn

from shike_mm.models.peft.wrapped_module import WrappedModule


class Wrapper(WrappedModule):

    def __init__(self, module):
        super().__init__()
        self.module = module
        self.own = 'wrapper'


def test_forward_and_attributes_are_the_wrapped_modules():
    linear = nn.Linear(3, 2)
    wrapper = Wrapper(linear)
    x = torch.randn(4, 3)
    assert torch.equal(wrapper(x), linear(x))
    assert wrapper.in_features == 3  # the wrapped module's attribute
    assert wrapper.weight is linear.weight  # and its parameters
    assert wrapper.own == 'wrapper'  # its own first


def test_an_attribute_neither_has_is_an_attribute_error():
    with pytest.raises(AttributeError, match='no_such_thing'):
        Wrapper(nn.Linear(3, 2)).no_such_thing


def test_a_wrapper_without_its_module_does_not_recurse():
    wrapper = WrappedModule()
    with pytest.raises(AttributeError, match='module'):
        wrapper.anything
