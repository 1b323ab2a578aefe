"""Export a classifier to ONNX with the scores its ``predict`` gives, and
check the exported file against PyTorch.

The exported graph takes the images as the model's data preprocessor
hands them to the network (normalised, in its channel order), ``[B, 3, H,
W]`` float32, and returns the prediction's scores ``[B, C]``: the softmax
of the head's logits after the head's ``post_processors`` (prior
correction, temperature scaling), as ``pred_score`` of ``predict``. For a
SHIKE head the logits are the fused expert logits (their mean, or their
``expert_weights`` average) of the head's current stage. Test-time
augmentation is not part of the graph.

torch's TorchScript-based exporter (``torch.onnx.export(...,
dynamo=False)``) is the default: it works on every torch shike-mm supports
(>= 2.5) without extra packages. The dynamo-based exporter needs the
``onnxscript`` package.
"""
import warnings
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead

#: ``exporter`` values of :func:`export_onnx`.
EXPORTERS = ('torchscript', 'dynamo')
INPUT_NAME = 'inputs'
OUTPUT_NAME = 'scores'


class PredictionScores(nn.Module):
    """An MMPretrain image classifier as an exporter sees it: normalised
    images in, the scores of its prediction out.

    Args:
        model (nn.Module): An ``ImageClassifier`` whose head is an
            MMPretrain :class:`ClsHead` (a softmax classifier), such as
            ``SHIKEHead`` or a ``PostProcessedHead``. Its post-processors
            must already have what they need (the training class counts,
            :func:`~shike_mm.apis.load_model` gives them).

    Inputs:
        inputs (Tensor): ``[B, 3, H, W]`` images after the model's data
            preprocessor.

    Returns:
        Tensor: ``[B, C]`` scores, ``predict``'s ``pred_score``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        head = getattr(model, 'head', None)
        if not isinstance(head, ClsHead):
            raise TypeError(
                'ONNX export supports image classifiers with a softmax '
                'head (an MMPretrain ClsHead, e.g. SHIKEHead or '
                f'LinearClsHead); got head {type(head).__name__}')
        self.model = model

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        logits = self.model(inputs, mode='tensor')
        post_processors = getattr(self.model.head, 'post_processors', None)
        if post_processors is not None:
            logits = post_processors(logits)
        return F.softmax(logits, dim=1)


def predict_scores(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """``pred_score`` of ``model.predict`` for a batch, ``[B, C]``: the
    reference an exported model is checked against.

    Args:
        model (nn.Module): The classifier, in eval mode.
        inputs (Tensor): ``[B, 3, H, W]`` preprocessed images.

    Returns:
        Tensor: ``[B, C]`` scores.
    """
    with torch.no_grad():
        samples = model(inputs, mode='predict')
    return torch.stack([sample.pred_score for sample in samples])


def export_onnx(model: nn.Module,
                out_file: str,
                input_shape: Sequence[int],
                exporter: str = 'torchscript',
                opset_version: Optional[int] = None) -> None:
    """Export the prediction scores of ``model`` to an ONNX file with a
    dynamic batch axis.

    Args:
        model (nn.Module): The classifier, in eval mode, weights loaded.
        out_file (str): The ``.onnx`` file to write.
        input_shape (Sequence[int]): ``(B, 3, H, W)`` of the example input
            traced through the model.
        exporter (str): ``'torchscript'`` (``dynamo=False``) or
            ``'dynamo'`` (needs ``onnxscript``). Defaults to
            ``'torchscript'``.
        opset_version (int, optional): ONNX opset. Defaults to None
            (torch's default for the exporter).
    """
    if exporter not in EXPORTERS:
        raise ValueError(
            f'exporter must be one of {EXPORTERS}, got {exporter!r}')
    if exporter == 'dynamo':
        try:
            import onnxscript  # noqa: F401
        except ImportError as error:
            raise ImportError(
                "The dynamo exporter needs onnxscript: pip install "
                "onnxscript, or use exporter='torchscript'") from error
    scores = PredictionScores(model).eval()
    example = torch.randn(*input_shape)
    batch = {0: 'batch'}
    with torch.no_grad(), warnings.catch_warnings():
        # shike_mm's heads and post-processors iterate over the experts and
        # check the number of classes: numbers that the model fixes.
        warnings.filterwarnings(
            'ignore', category=torch.jit.TracerWarning, module='shike_mm')
        torch.onnx.export(
            scores, (example, ),
            out_file,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={
                INPUT_NAME: batch,
                OUTPUT_NAME: batch
            },
            opset_version=opset_version,
            dynamo=exporter == 'dynamo')


def onnx_scores(onnx_file: str, inputs: torch.Tensor) -> np.ndarray:
    """Run an exported file with ONNX Runtime on the CPU.

    Args:
        onnx_file (str): The ``.onnx`` file.
        inputs (Tensor): ``[B, 3, H, W]`` preprocessed images.

    Returns:
        np.ndarray: ``[B, C]`` scores.
    """
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            'Checking an exported model needs onnxruntime: pip install '
            'onnxruntime (it is in the "tests" extra)') from error
    session = onnxruntime.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
    (scores, ) = session.run(None, {INPUT_NAME: inputs.numpy()})
    return scores


def max_score_difference(model: nn.Module, onnx_file: str,
                         inputs: torch.Tensor) -> float:
    """The largest absolute difference between the exported model's scores
    and ``predict``'s on ``inputs``.

    Args:
        model (nn.Module): The classifier the file was exported from.
        onnx_file (str): The ``.onnx`` file.
        inputs (Tensor): ``[B, 3, H, W]`` preprocessed images.

    Returns:
        float: ``max |onnx - predict|`` over the batch and classes.
    """
    expected = predict_scores(model, inputs).numpy()
    exported = onnx_scores(onnx_file, inputs)
    if exported.shape != expected.shape:
        raise ValueError(f'{onnx_file} gives scores of shape '
                         f'{exported.shape}, PyTorch {expected.shape}')
    return float(np.abs(exported - expected).max())
