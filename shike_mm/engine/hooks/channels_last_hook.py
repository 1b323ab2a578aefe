"""Run a convolutional model in channels-last memory format."""
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseDataPreprocessor, is_model_wrapper
from mmpretrain.registry import HOOKS


def _channels_last_inputs(module: nn.Module, args, output):
    """Forward hook of a data preprocessor: 4-D ``inputs`` in
    channels-last format."""
    inputs = output.get('inputs') if isinstance(output, dict) else None
    if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
        output['inputs'] = inputs.contiguous(memory_format=torch.channels_last)
    return output


def to_channels_last(model: nn.Module, weights: bool = True) -> None:
    """Make ``model`` run in channels-last (NHWC) memory format, in place.

    Its data preprocessors return channels-last images from now on, and
    with ``weights`` its 4-D weights are converted too. Values and shapes do
    not change, only strides. PyTorch's cuDNN and oneDNN convolutions run
    channels-last when the input or the weight is, and pass the format on;
    with an NCHW weight they convert it at every call.

    Args:
        model (nn.Module): An MMEngine model, or a test-time-augmentation
            model around one.
        weights (bool): Convert the weights as well. Defaults to True.
    """
    if weights:
        model.to(memory_format=torch.channels_last)
    # Every data preprocessor: a test-time-augmentation model holds the
    # model's as a submodule.
    for module in model.modules():
        if isinstance(module, BaseDataPreprocessor) and \
                _channels_last_inputs not in module._forward_hooks.values():
            module.register_forward_hook(_channels_last_inputs)


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Train, validate and test in channels-last memory format.

    Before the first training, validation or test epoch, the data
    preprocessor starts returning channels-last images and the model's
    weights are converted to channels-last (see :func:`to_channels_last`).
    By then the Runner has initialised or loaded the weights in the default
    format, so a run starts from the same weights with or without this hook
    (random initialisers fill memory in storage order). A speed option for
    convolutional networks, not part of any published recipe; losses and
    gradients are those of the default format up to floating-point
    rounding. Enable it with
    ``--cfg-options default_hooks.channels_last.enable=True``.

    Under a model wrapper (DDP), the weights keep their format: MMEngine
    wraps the model before any hook runs, and DDP's gradient buckets keep
    the strides of the weights it was built with, so converting them
    afterwards would average wrong gradients. The inputs alone make the
    convolutions run channels-last.

    Args:
        enable (bool): Apply the conversion. Defaults to True.
    """

    def __init__(self, enable: bool = True):
        self.enable = enable
        self._converted = False

    def before_train(self, runner) -> None:
        self._convert(runner)

    def before_val(self, runner) -> None:
        self._convert(runner)

    def before_test(self, runner) -> None:
        self._convert(runner)

    def _convert(self, runner) -> None:
        if not self.enable or self._converted:
            return
        wrapped = is_model_wrapper(runner.model)
        model = runner.model.module if wrapped else runner.model
        to_channels_last(model, weights=not wrapped)
        self._converted = True
        runner.logger.info(
            'ChannelsLastHook: inputs in channels-last memory format' +
            (', weights unchanged under the model wrapper'
             if wrapped else ', and the weights'))
