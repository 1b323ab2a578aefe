"""tools/deployment/pytorch2onnx.py: exports a checkpoint with its
post-processors, checks it against predict(), and writes nothing when the
check fails."""
import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS

from shike_mm.apis.onnx_export import onnx_scores, predict_scores
from shike_mm.utils.cli import load_config

pytest.importorskip('onnxruntime')

TOOL = 'deployment/pytorch2onnx.py'
COUNTS = [124, 88, 63, 45, 32, 23, 16, 12, 8, 6]


@pytest.fixture(scope='module')
def digits_checkpoint(tmp_path_factory):
    """An untrained stage-2 digits SHIKE checkpoint with its training
    counts, and a config that adds logit adjustment."""
    root = tmp_path_factory.mktemp('onnx')
    config = root / 'digits_la.py'
    config.write_text("_base_ = ['shike_mm::shike/shike_r32_digits-lt.py']\n"
                      "model = dict(head=dict(post_processors=[\n"
                      "    dict(type='LogitAdjustment', tau=1.0)]))\n")
    cfg = load_config(str(config))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.head.set_stage(2)
    path = root / 'epoch_30.pth'
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(train_class_counts=COUNTS)), path)
    return str(config), str(path)


def test_export_applies_the_post_processors_and_checks(digits_checkpoint,
                                                       load_tool, capsys,
                                                       tmp_path):
    config, checkpoint = digits_checkpoint
    tool = load_tool(TOOL)
    out = str(tmp_path / 'digits.onnx')
    assert tool.main([config, checkpoint, '--out', out]) == out
    printed = capsys.readouterr().out
    assert 'post-processors in the graph: LogitAdjustment(tau=1.0)' in printed
    assert 'input "inputs": float32 [batch, 3, 16, 16]' in printed
    assert 'SHIKE head in stage 2' in printed
    assert 'check: max |ONNX Runtime - predict()| =' in printed

    from shike_mm.apis import load_model
    model = load_model(load_config(config), checkpoint).model
    inputs = torch.randn(4, 3, 16, 16)  # the config's input size
    np.testing.assert_allclose(
        onnx_scores(out, inputs),
        predict_scores(model, inputs).numpy(),
        atol=1e-5)


def test_a_failed_check_writes_nothing(digits_checkpoint, run_tool, tmp_path):
    config, checkpoint = digits_checkpoint
    out = tmp_path / 'digits.onnx'
    proc = run_tool(
        TOOL, config, checkpoint, '--out', out, '--atol', '-1', check=False)
    assert proc.returncode != 0
    assert 'pytorch2onnx.py: error: The exported scores differ from ' \
        'predict() by' in proc.stderr
    assert f'nothing written to {out}' in proc.stderr
    assert list(tmp_path.iterdir()) == []
