"""Fit a temperature for a checkpoint on held-out data, report its
calibration on the test split before and after, and draw the reliability
diagrams.

The temperature is fitted by minimising the NLL, never on the test split,
on one of (``--split``):

- ``held-out``: the held-out part of the training split, for a config
  whose ``train_dataloader.dataset`` is a ``HeldOutSplit`` (the model
  never trained on those images);
- ``val``: the config's val split, when it is not its test split (the
  two are compared by the images they hold, so that the same split file
  spelled differently is the test split too).

``auto`` (the default) takes the first that applies. Writes into
``--out-dir``: ``temperature.json`` (the temperature, where it was fitted,
and ECE, MCE, adaptive ECE, NLL and Brier score before and after) and
``reliability.png`` (confidence vs accuracy on the test split, before and
after)::

    python tools/analysis_tools/calibrate.py CONFIG CHECKPOINT

Apply the temperature with the post-processor the tool prints, first in
``model.head.post_processors``.
"""
import argparse
import copy
import hashlib
import json
import os.path as osp

import numpy as np
import torch
from mmpretrain.registry import DATASETS

from shike_mm.apis import (calibration_metrics, collect_outputs,
                           fit_temperature, load_model,
                           plot_reliability_diagram, split_dataloader)
from shike_mm.datasets import describe_dataset, get_train_class_counts
from shike_mm.utils.cli import (add_cfg_options, add_device, load_config,
                                run_tool, set_cpu_threads, writable_folder)

SPLITS = ('auto', 'held-out', 'val')
HELD_OUT_TYPES = ('HeldOutSplit', 'mmpretrain.HeldOutSplit')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Fit a calibration temperature on held-out data (never '
        'the test split) and draw reliability diagrams')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--split',
        choices=SPLITS,
        default='auto',
        help='where to fit: "held-out" (the held-out part of a '
        'HeldOutSplit training split), "val" (the val split, if it is not '
        'the test split) or "auto" (the first of these that applies)')
    parser.add_argument(
        '--bins',
        type=int,
        default=15,
        help='bins of the ECE, MCE, adaptive ECE and diagrams (default 15)')
    parser.add_argument(
        '--out-dir',
        help='folder for temperature.json and reliability.png (default: '
        '"calibration" next to the checkpoint)')
    add_device(parser)
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.bins < 1:
        parser.error(f'--bins must be positive, got {args.bins}')
    return args


def fitting_split(cfg, config: str, split: str):
    """The dataset config to fit the temperature on, the data loader it
    comes from (named in messages) and its description.

    Raises:
        ValueError: If the requested split does not exist or is the test
            split.
    """
    train = cfg.train_dataloader.dataset
    test = cfg.test_dataloader.dataset
    if (split in ('auto', 'held-out') and train.get('type') in HELD_OUT_TYPES
            and train.get('part', 'train') == 'train'):
        if 'pipeline' not in test:
            raise ValueError(
                f'{config}: test_dataloader.dataset has no pipeline to read '
                'the held-out images with')
        held_out = copy.deepcopy(train)
        held_out['part'] = 'held_out'
        held_out['dataset']['pipeline'] = test['pipeline']
        return held_out, 'train_dataloader', (
            f'the held-out part of the training split (HeldOutSplit, '
            f'fraction {train.get("fraction", 0.2)}, seed '
            f'{train.get("seed", 0)})')
    if split == 'held-out':
        raise ValueError(
            f'--split held-out: the training dataset of {config} is not a '
            "HeldOutSplit(part='train'); train on one to hold images out "
            '(docs/test_distributions.md)')
    val = (cfg.get('val_dataloader') or {}).get('dataset')
    if val is None or val == test:
        raise ValueError(
            f'{config} has no val split apart from its test split, and its '
            'training dataset is not a HeldOutSplit: there is no held-out '
            'data to fit a temperature on (fitting on the test split would '
            'tune it on the test data). Train with the training split '
            "wrapped in HeldOutSplit(part='train') "
            '(docs/test_distributions.md)')
    check_not_the_test_images(val, test, config)
    return val, 'val_dataloader', 'the val split (val_dataloader.dataset)'


def _image_keys(dataset) -> list:
    """What identifies each sample of a dataset, sorted: the resolved path
    of its image file (or a hash of its in-memory pixels) and its label."""
    keys = []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        if info.get('img_path'):
            image = osp.realpath(info['img_path'])
        elif info.get('img') is not None:
            pixels = np.ascontiguousarray(info['img'])
            image = hashlib.sha1(pixels.tobytes()).hexdigest()
        else:  # a dataset that names its samples otherwise
            image = repr(sorted(info.items()))
        keys.append((image, int(np.asarray(info['gt_label']).reshape(-1)[0])))
    return sorted(keys)


def check_not_the_test_images(val_cfg: dict, test_cfg: dict, config: str):
    """Refuse a val split that holds exactly the test split's images, as
    the same files spelled differently in the config do."""
    val, test = DATASETS.build(val_cfg), DATASETS.build(test_cfg)
    if len(val) != len(test) or _image_keys(val) != _image_keys(test):
        return
    raise ValueError(
        f'{config}: val_dataloader.dataset ({describe_dataset(val)}) and '
        f'test_dataloader.dataset ({describe_dataset(test)}) hold the same '
        f'{len(test)} images, so fitting on the val split would tune the '
        'temperature on the test data. Give a val split of other images, '
        "or train with the training split wrapped in HeldOutSplit(part="
        "'train') (docs/test_distributions.md)")


def check_never_trained_on(loaded, dataset_cfg: dict, checkpoint: str):
    """A held-out fit needs a checkpoint trained on the rest only."""
    if dataset_cfg.get('type') not in HELD_OUT_TYPES:
        return
    rest = copy.deepcopy(dataset_cfg)
    rest['part'] = 'train'
    counts = get_train_class_counts(DATASETS.build(rest))
    if counts != loaded.train_counts:
        raise ValueError(
            f'{checkpoint} was trained on {sum(loaded.train_counts)} '
            f'images ({loaded.counts_source}), not on the {sum(counts)} the '
            'HeldOutSplit of this config keeps for training: it may have '
            'seen the held-out images. Give the config it was trained with')


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    set_cpu_threads(cfg)
    out_dir = writable_folder(
        args.out_dir
        or osp.join(osp.dirname(osp.abspath(args.checkpoint)), 'calibration'))
    fit_cfg, fit_loader, fit_description = fitting_split(
        cfg, args.config, args.split)
    loaded = load_model(cfg, args.checkpoint, args.device)
    test_loader = split_dataloader(loaded, cfg.test_dataloader.dataset)
    fit_loader = split_dataloader(loaded, fit_cfg, fit_loader)
    check_never_trained_on(loaded, fit_cfg, args.checkpoint)

    fit = collect_outputs(loaded.model, fit_loader)
    test = collect_outputs(loaded.model, test_loader)
    fit_labels = torch.as_tensor(fit.labels)
    test_labels = torch.as_tensor(test.labels)
    temperature = fit_temperature(fit.logits, fit_labels)

    def before_after(logits, labels):
        return dict(
            before=calibration_metrics(logits, labels, args.bins),
            after=calibration_metrics(logits / temperature, labels, args.bins))

    report = dict(
        temperature=temperature,
        fitted_on=fit_description,
        config=args.config,
        checkpoint=args.checkpoint,
        bins=args.bins,
        fit_split=dict(
            num_samples=len(fit.labels),
            **before_after(fit.logits, fit_labels)),
        test_split=dict(
            num_samples=len(test.labels),
            **before_after(test.logits, test_labels)))
    json_file = osp.join(out_dir, 'temperature.json')
    with open(json_file, 'w') as f:
        json.dump(report, f, indent=1)
    plot_reliability_diagram(
        {
            'test split, before': (test.logits, test_labels),
            f'test split, after (T = {temperature:.3f})':
            (test.logits / temperature, test_labels),
        },
        osp.join(out_dir, 'reliability.png'),
        num_bins=args.bins)

    print(f'Temperature {temperature:.4f}, fitted on {fit_description} '
          f'({len(fit.labels)} images).')
    rows = [
        '| split | when | top-1 | ECE | MCE | adaptive ECE | NLL | '
        'Brier |', '| --- | --- | --- | --- | --- | --- | --- | --- |'
    ]
    for split in ('fit_split', 'test_split'):
        for when in ('before', 'after'):
            m = report[split][when]
            rows.append(f'| {split[:-6]} | {when} | {m["top1"]:.2f} | '
                        f'{m["ece"]:.2f} | {m["mce"]:.2f} | '
                        f'{m["adaptive_ece"]:.2f} | {m["nll"]:.4f} | '
                        f'{m["brier"]:.4f} |')
    print('\n'.join(rows))
    print(f'\n{json_file} and reliability.png in {out_dir}. To apply it, '
          'put first in the head\'s post-processors of the config:\n'
          '    model = dict(head=dict(post_processors=[\n'
          f"        dict(type='TemperatureScaling', "
          f'temperature={temperature:.4f})]))\n'
          '(for an MMPretrain head, wrap it: dict(type=\'PostProcessedHead\','
          ' head=..., post_processors=[...]))')
    return report


if __name__ == '__main__':
    run_tool(main)
