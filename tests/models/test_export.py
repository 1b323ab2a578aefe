"""The digits SHIKE model exports with mode='tensor' (fused [B, C] logits)
and the exported model gives PyTorch's outputs."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

from shike_mm.apis.inference import get_classifier

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO_ROOT, 'configs/shike/shike_r32_digits-lt.py')


class FusedLogits(torch.nn.Module):
    """The classifier as an exporter sees it: normalised images in, the
    mean of the experts' logits out."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        return self.model(inputs, mode='tensor')


@pytest.fixture(scope='module')
def model_and_inputs():
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = get_classifier(CONFIG)
    model.head.set_stage(2)  # predict with the re-trained classifiers
    dataset = DATASETS.build(
        dict(
            type='DigitsLT', split='test', pipeline=[dict(type='PackInputs')]))
    batch = model.data_preprocessor(
        dict(
            inputs=[dataset[i]['inputs'] for i in range(4)],
            data_samples=[dataset[i]['data_samples'] for i in range(4)]))
    return FusedLogits(model).eval(), batch['inputs']


def test_tensor_mode_is_the_fused_prediction(model_and_inputs):
    wrapper, inputs = model_and_inputs
    with torch.no_grad():
        logits = wrapper(inputs)
        scores = torch.stack([
            sample.pred_score
            for sample in wrapper.model(inputs, mode='predict')
        ])
    assert logits.shape == (4, 10)
    torch.testing.assert_close(logits.softmax(dim=1), scores)


def test_exported_model_gives_pytorchs_outputs(model_and_inputs, tmp_path):
    wrapper, inputs = model_and_inputs
    with torch.no_grad():
        expected = wrapper(inputs).numpy()
    try:
        import onnxruntime
    except ImportError:
        onnxruntime = None
    if onnxruntime is not None:
        path = str(tmp_path / 'shike_digits.onnx')
        torch.onnx.export(
            wrapper, (inputs, ),
            path,
            dynamo=False,
            input_names=['inputs'],
            output_names=['logits'],
            dynamic_axes={
                'inputs': {
                    0: 'batch'
                },
                'logits': {
                    0: 'batch'
                }
            })
        session = onnxruntime.InferenceSession(path)
        (exported, ) = session.run(None, {'inputs': inputs.numpy()})
        # Another batch size through the dynamic axis.
        (single, ) = session.run(None, {'inputs': inputs[:1].numpy()})
        np.testing.assert_allclose(single, expected[:1], atol=1e-4)
    else:  # ONNX is not installed: TorchScript
        traced = torch.jit.trace(wrapper, (inputs, ))
        path = str(tmp_path / 'shike_digits.pt')
        traced.save(path)
        with torch.no_grad():
            exported = torch.jit.load(path)(inputs).numpy()
    np.testing.assert_allclose(exported, expected, atol=1e-4)
