"""Export a classifier checkpoint to ONNX and check it against PyTorch.

The exported graph applies the whole prediction of ``predict``: the
network, the fusion of a SHIKE head's experts (of the checkpoint's stage)
and the head's ``post_processors`` (prior correction, temperature
scaling), then the softmax. Its input ``inputs`` is ``[batch, 3, H, W]``
float32, images as the config's data preprocessor hands them to the
network (the tool prints the normalisation); its output ``scores`` is
``[batch, C]``. The batch axis is dynamic.

The file is checked before it is written: ONNX Runtime runs it on random
inputs of two batch sizes and its scores must match ``predict``'s within
``--atol``. ``--no-check`` skips that (without onnxruntime installed)::

    python tools/deployment/pytorch2onnx.py \\
        configs/shike/shike_r32_digits-lt.py work_dirs/digits-lt/epoch_30.pth

``--exporter torchscript`` (the default) is torch's TorchScript-based
exporter, which needs no extra package on torch >= 2.5; ``dynamo`` needs
``onnxscript``.
"""
import argparse
import os
import os.path as osp
import tempfile

import torch

from shike_mm.apis import input_size, load_model
from shike_mm.apis.onnx_export import (EXPORTERS, INPUT_NAME, OUTPUT_NAME,
                                       export_onnx, max_score_difference)
from shike_mm.utils.cli import (add_cfg_options, add_trust_checkpoint,
                                load_config, run_tool, set_cpu_threads)

#: Batch sizes of the check: the traced one and another, for the dynamic
#: batch axis.
CHECK_BATCHES = (2, 1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export a classifier to ONNX (post-processors '
        'included) and check its scores against PyTorch')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='ONNX file to write (default: the checkpoint with .onnx)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        help='input height and width (one number for a square input); '
        "default: the config's input size")
    parser.add_argument(
        '--exporter',
        choices=EXPORTERS,
        default='torchscript',
        help="torch's exporter (default: torchscript, dynamo=False)")
    parser.add_argument(
        '--opset', type=int, help="ONNX opset (default: torch's)")
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-4,
        help='largest accepted |ONNX - PyTorch| score (default 1e-4)')
    parser.add_argument(
        '--no-check',
        action='store_true',
        help='write the file without running it in ONNX Runtime')
    add_trust_checkpoint(parser, 'the checkpoint')
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.shape and len(args.shape) == 1:
        args.shape = args.shape * 2
    if args.shape and len(args.shape) != 2:
        parser.error('--shape takes one or two numbers')
    return args


def describe_input(model, shape) -> str:
    """What the exported input expects, from the model's data
    preprocessor."""
    preprocessor = model.data_preprocessor
    line = f'input "{INPUT_NAME}": float32 [batch, 3, {shape[0]}, {shape[1]}]'
    mean = getattr(preprocessor, 'mean', None)
    if mean is not None:
        std = preprocessor.std.flatten().tolist()
        order = 'flipped to RGB' if getattr(
            preprocessor, '_channel_conversion', False) else 'as loaded'
        line += (', each pixel (channels ' + order + ') as (x - mean) / std '
                 f'with mean {[round(v, 3) for v in mean.flatten().tolist()]}'
                 f' and std {[round(v, 3) for v in std]}')
    return line


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    set_cpu_threads(cfg)
    shape = args.shape or input_size(cfg)
    out_file = args.out or osp.splitext(args.checkpoint)[0] + '.onnx'
    out_dir = osp.dirname(osp.abspath(out_file))
    if not os.access(out_dir, os.W_OK):
        raise ValueError(f'Cannot write {out_file}: {out_dir} is not a '
                         'writable folder')
    model = load_model(cfg, args.checkpoint).model
    post_processors = getattr(model.head, 'post_processors', None)
    stage = getattr(model.head, 'current_stage', None)

    # Written next to the target and moved there only once checked.
    handle, staged = tempfile.mkstemp(suffix='.onnx', dir=out_dir)
    os.close(handle)
    try:
        export_onnx(
            model,
            staged, (CHECK_BATCHES[0], 3, *shape),
            exporter=args.exporter,
            opset_version=args.opset)
        if not args.no_check:
            generator = torch.Generator().manual_seed(0)
            difference = max(
                max_score_difference(
                    model, staged,
                    torch.randn(batch, 3, *shape, generator=generator))
                for batch in CHECK_BATCHES)
            if not difference <= args.atol:
                raise ValueError(
                    f'The exported scores differ from predict() by '
                    f'{difference:.3g} (> --atol {args.atol}); nothing '
                    f'written to {out_file}')
        os.replace(staged, out_file)
    finally:
        if osp.exists(staged):
            os.remove(staged)

    print(f'Wrote {out_file} ({args.exporter} exporter)')
    print(describe_input(model, shape))
    print(f'output "{OUTPUT_NAME}": float32 [batch, '
          f'{model.head.num_classes}], the softmax scores of predict()')
    if stage is not None:
        print(f'SHIKE head in stage {stage}: the '
              f'{"re-trained" if stage == 2 else "stage-1"} classifiers')
    print('post-processors in the graph: ' +
          (', '.join(repr(p)
                     for p in post_processors) if post_processors else 'none'))
    if not args.no_check:
        batches = ' and '.join(map(str, CHECK_BATCHES))
        print(f'check: max |ONNX Runtime - predict()| = {difference:.2g} '
              f'on random inputs of batch {batches}')
    return out_file


if __name__ == '__main__':
    run_tool(main)
