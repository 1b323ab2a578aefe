"""Test-time self-supervised aggregation of a multi-expert model's experts
(SADE's test-time training): learn one weight per expert on the unlabelled
test images so that the weighted prediction of two augmented views of an
image agree, then compare the test accuracy of the learned weights with
the plain mean of the experts.

The views use the config's training pipeline, which must be random: a
pipeline that gives the same view twice (no random transform) is refused.
The network is frozen (eval mode) and only the weights learn.
``--test-prior`` learns and evaluates on the test split re-sampled to one
of the 11 test priors, as SADE does per test distribution. Writes
``expert_weights.json`` into ``--out-dir`` and prints how to apply the
weights (``model.head.expert_weights``)::

    python tools/analysis_tools/expert_aggregation.py \\
        configs/shike/shike_r32_digits-lt.py work_dirs/digits-lt/epoch_30.pth
"""
import argparse
import copy
import json
import os.path as osp

import numpy as np
import torch
from mmengine.runner.utils import set_random_seed
from mmpretrain.registry import DATASETS

from shike_mm.apis import (check_split, collect_outputs, is_multi_expert,
                           learn_expert_weights, load_model, split_dataloader,
                           two_view_expert_logits)
from shike_mm.datasets.prior_shift_dataset import (TEST_PRIORS,
                                                   class_order_from_counts)
from shike_mm.utils.cli import (add_cfg_options, add_device, load_config,
                                run_tool, set_cpu_threads, writable_folder)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Learn expert weights on unlabelled test images by '
        'agreement of two augmented views (SADE test-time aggregation)')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint',
        help='checkpoint of a multi-expert '
        'model (e.g. SHIKEHead with num_experts > 1)')
    parser.add_argument(
        '--test-prior',
        choices=list(TEST_PRIORS),
        default='uniform',
        help='learn and evaluate on the test split re-sampled to this '
        'prior (default: uniform, the balanced test split)')
    parser.add_argument(
        '--epochs', type=int, default=5, help='epochs (default 5, SADE)')
    parser.add_argument(
        '--lr', type=float, default=0.1, help='SGD lr (default 0.1, SADE)')
    parser.add_argument(
        '--weight-decay',
        type=float,
        default=5e-4,
        help='weight decay (default 5e-4, SADE)')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=128,
        help='images per step (default 128, SADE)')
    parser.add_argument(
        '--min-weight',
        type=float,
        default=0.05,
        help='stop after an epoch that leaves a weight below this '
        '(default 0.05, SADE)')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the order, the augmentations and the re-sampling')
    parser.add_argument(
        '--out-dir',
        help='folder for expert_weights.json (default: "expert_aggregation" '
        'next to the checkpoint)')
    add_device(parser)
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error('--epochs and --batch-size must be positive')
    return args


def training_pipeline(dataset_cfg: dict, config: str) -> list:
    """The pipeline of a training dataset config, looking inside dataset
    wrappers."""
    while 'pipeline' not in dataset_cfg and 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    if 'pipeline' not in dataset_cfg:
        raise ValueError(f'{config}: train_dataloader.dataset has no '
                         'pipeline to augment the views with')
    return dataset_cfg['pipeline']


#: Test images read twice to see that the training pipeline is random.
VIEW_CHECK_IMAGES = 64


def check_views_differ(views, pipeline: list, config: str) -> None:
    """Refuse a training pipeline that gives two identical views of each
    of the first test images: their agreement would always be 1 and the
    weights would learn nothing."""
    checked = min(len(views), VIEW_CHECK_IMAGES)
    for index in range(checked):
        if not torch.equal(views[index]['inputs'], views[index]['inputs']):
            return
    transforms = ', '.join(str(t.get('type')) for t in pipeline)
    raise ValueError(
        f'{config}: the training pipeline ({transforms}) gave identical '
        f'views of each of the first {checked} test images, so the two '
        'views would always agree and the expert weights learn nothing. '
        'The views need a random transform in '
        'train_dataloader.dataset.pipeline (e.g. RandomResizedCrop, '
        'RandomCrop with padding, RandomFlip or RandAugment)')


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    set_cpu_threads(cfg)
    out_dir = writable_folder(
        args.out_dir or osp.join(
            osp.dirname(osp.abspath(args.checkpoint)), 'expert_aggregation'))
    test_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    view_cfg = copy.deepcopy(test_cfg)
    view_cfg['pipeline'] = training_pipeline(cfg.train_dataloader.dataset,
                                             args.config)
    check_views_differ(
        DATASETS.build(view_cfg), view_cfg['pipeline'], args.config)
    loaded = load_model(cfg, args.checkpoint, args.device)
    head = loaded.head
    if not is_multi_expert(head):
        raise ValueError(
            f'{args.checkpoint} ({args.config}): expert aggregation needs a '
            'head with several experts (expert_logits, num_experts > 1), '
            f'but model.head is {type(head).__name__} with '
            f'{getattr(head, "num_experts", 1)} expert(s)')
    set_random_seed(args.seed)
    if args.test_prior != 'uniform':
        order = class_order_from_counts(loaded.train_counts)
        test_cfg, view_cfg = (
            dict(
                type='PriorShiftDataset',
                dataset=split,
                imb_factor=args.test_prior,
                class_order=order,
                seed=args.seed) for split in (test_cfg, view_cfg))
    views = DATASETS.build(view_cfg)
    # The test images, read with the training pipeline.
    check_split(loaded, 'test_dataloader', views)
    rng = np.random.RandomState(args.seed)
    learned = learn_expert_weights(
        lambda epoch: two_view_expert_logits(loaded.model, views, args.
                                             batch_size, rng),
        head.num_experts,
        epochs=args.epochs,
        lr=args.lr,
        weight_decay=args.weight_decay,
        min_weight=args.min_weight)

    test = collect_outputs(loaded.model, split_dataloader(loaded, test_cfg))
    labels = torch.as_tensor(test.labels)
    experts = test.expert_logits.transpose(0, 1)
    weights = torch.tensor(learned.weights, dtype=torch.float64)
    accuracy = {
        name: 100.0 * float((fused.argmax(dim=1) == labels).double().mean())
        for name, fused in (('mean', experts.mean(dim=0)),
                            ('learned',
                             torch.einsum('m,mnc->nc', weights, experts)))
    }
    report = dict(
        weights=learned.weights,
        stopped_early=learned.stopped_early,
        history=learned.history,
        test_prior=args.test_prior,
        num_test_images=len(labels),
        accuracy=accuracy,
        settings=dict(
            epochs=args.epochs,
            lr=args.lr,
            weight_decay=args.weight_decay,
            batch_size=args.batch_size,
            min_weight=args.min_weight,
            seed=args.seed),
        config=args.config,
        checkpoint=args.checkpoint)
    json_file = osp.join(out_dir, 'expert_weights.json')
    with open(json_file, 'w') as f:
        json.dump(report, f, indent=1)

    for epoch, record in enumerate(learned.history, 1):
        print(f'epoch {epoch}: weights '
              f'{", ".join(f"{w:.4f}" for w in record["weights"])}, '
              f'view agreement {record["similarity"]:.5f}')
    if learned.stopped_early:
        print(f'Stopped: a weight fell below {args.min_weight}.')
    listed = ','.join(f'{w:.6f}' for w in learned.weights)
    print(f'Top-1 on the {args.test_prior} test split ({len(labels)} '
          f'images): mean of experts {accuracy["mean"]:.2f}, learned '
          f'weights {accuracy["learned"]:.2f}.\n{json_file} written; apply '
          f'with --cfg-options model.head.expert_weights="[{listed}]" (or '
          f"model.head.expert_weights='{json_file}' in the config)")
    return report


if __name__ == '__main__':
    run_tool(main)
