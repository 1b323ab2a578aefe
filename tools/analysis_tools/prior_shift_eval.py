"""Test-agnostic evaluation: accuracy of a model on its balanced test split
re-sampled to the 11 test priors of SADE's protocol (forward long-tailed
50 ... 2, uniform, backward long-tailed 2 ... 50), predicting plainly,
with post-hoc logit adjustment, with the known test prior and with the
prior estimated by EM from the unlabelled test logits.

The network runs once over the test split; the 11 splits re-sample its
logits. Several checkpoints of the same config (e.g. training seeds) give
mean ± standard deviation. Writes into ``--out-dir``: ``prior_shift.md``
(the table), ``prior_shift.json`` (every number, the EM estimates
included) and ``prior_shift.png`` (accuracy vs test prior, one line per
method)::

    python tools/analysis_tools/prior_shift_eval.py \\
        configs/shike/shike_r32_digits-lt.py work_dirs/digits-lt/epoch_30.pth

``--estimate-prior FILE`` also writes the EM estimate of the whole test
split's prior, for ``TargetPriorAdjustment(target_prior=FILE)``.
"""
import argparse
import json
import os.path as osp

from shike_mm.apis import (collect_outputs, default_trained_on,
                           evaluate_prior_shift, format_prior_shift_table,
                           load_model, plot_prior_shift, split_dataloader,
                           summarise)
from shike_mm.models.utils.prior import (TRAINED_ON, estimate_prior_em,
                                         log_prior_from_counts,
                                         source_log_prior)
from shike_mm.utils.cli import (add_cfg_options, add_device, load_config,
                                run_tool, set_cpu_threads, writable_folder)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Accuracy of a model across the 11 test priors of the '
        'test-agnostic protocol (plain, logit-adjusted, known prior, EM)')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint',
        nargs='+',
        help='checkpoint file; several (e.g. training seeds of this '
        'config) give mean ± std')
    parser.add_argument(
        '--out-dir',
        help='folder for the table, JSON and plot (default: "prior_shift" '
        'next to the first checkpoint)')
    parser.add_argument(
        '--trained-on',
        choices=TRAINED_ON,
        help='the prior the scores assume: "balanced" for a model trained '
        'to be balanced (Balanced Softmax; SHIKE after stage 2), "train" '
        'for plain cross-entropy on the training prior (default: '
        '"balanced" for a SHIKE head in stage 2, else "train")')
    parser.add_argument(
        '--tau',
        type=float,
        default=1.0,
        help='strength of the logit adjustment f - tau log pi (default 1)')
    parser.add_argument(
        '--temperature',
        type=float,
        nargs='+',
        default=[1.0],
        help='divide the logits by this temperature first (from '
        'calibrate.py), as a TemperatureScaling post-processor does; one '
        'for all checkpoints or one per checkpoint')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the re-sampling')
    parser.add_argument(
        '--em-tol',
        type=float,
        default=1e-6,
        help='EM stops when no class prior changes by more (default 1e-6)')
    parser.add_argument(
        '--em-max-iter',
        type=int,
        default=1000,
        help='EM iteration cap (default 1000)')
    parser.add_argument(
        '--estimate-prior',
        metavar='FILE',
        help='also write the EM estimate of the test split\'s class prior '
        'to this JSON (one checkpoint only)')
    add_device(parser)
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if len(args.temperature) == 1:
        args.temperature *= len(args.checkpoint)
    if len(args.temperature) != len(
            args.checkpoint) or not all(t > 0 for t in args.temperature):
        parser.error('--temperature takes one positive value, or one per '
                     f'checkpoint; got {args.temperature}')
    if args.estimate_prior and len(args.checkpoint) > 1:
        parser.error('--estimate-prior takes one checkpoint')
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    set_cpu_threads(cfg)
    out_dir = writable_folder(
        args.out_dir or osp.join(
            osp.dirname(osp.abspath(args.checkpoint[0])), 'prior_shift'))
    if args.estimate_prior:
        writable_folder(
            osp.dirname(osp.abspath(args.estimate_prior)), '--estimate-prior')

    runs, described = [], []
    for checkpoint, temperature in zip(args.checkpoint, args.temperature):
        loaded = load_model(cfg, checkpoint, args.device)
        trained_on = args.trained_on or default_trained_on(loaded.head)
        outputs = collect_outputs(
            loaded.model, split_dataloader(loaded,
                                           cfg.test_dataloader.dataset))
        logits = outputs.logits / temperature
        if described and loaded.train_counts != described[0]['train_counts']:
            raise ValueError(
                f'{checkpoint} was trained on other class counts than '
                f'{args.checkpoint[0]}; compare checkpoints of one setup')
        runs.append(
            evaluate_prior_shift(logits, outputs.labels, loaded.train_counts,
                                 trained_on, args.tau, args.seed, args.em_tol,
                                 args.em_max_iter))
        described.append(
            dict(
                checkpoint=checkpoint,
                temperature=temperature,
                trained_on=trained_on,
                train_counts=loaded.train_counts,
                counts_source=loaded.counts_source))
        print(f'{checkpoint}: {len(outputs.labels)} test images, scores '
              f'assumed trained on the {trained_on} prior')
        if args.estimate_prior:
            write_estimated_prior(args, logits, loaded.train_counts,
                                  trained_on, temperature)

    summary = summarise(runs)
    table = format_prior_shift_table(summary, len(runs))
    note = (f'Top-1 accuracy (%) of {osp.basename(args.config)}, '
            f'{len(runs)} checkpoint(s)'
            f'{" (mean ± std)" if len(runs) > 1 else ""}; tau={args.tau}, '
            f'temperature {", ".join(f"{t:g}" for t in args.temperature)}, '
            f're-sampling seed {args.seed}, '
            f'scores assumed trained on the '
            f'{", ".join(sorted({d["trained_on"] for d in described}))} '
            'prior.')
    with open(osp.join(out_dir, 'prior_shift.md'), 'w') as f:
        f.write(f'{note}\n\n{table}\n')
    with open(osp.join(out_dir, 'prior_shift.json'), 'w') as f:
        json.dump(
            dict(
                config=args.config,
                tau=args.tau,
                seed=args.seed,
                checkpoints=[
                    dict(d, results=run) for d, run in zip(described, runs)
                ],
                summary=summary),
            f,
            indent=1)
    plot_prior_shift(summary,
                     osp.splitext(osp.basename(args.config))[0],
                     osp.join(out_dir, 'prior_shift.png'))
    print(f'\n{note}\n\n{table}\n\nTable, JSON and plot in {out_dir}')
    return summary


def write_estimated_prior(args, logits, train_counts, trained_on, temperature):
    """EM on the whole test split; the JSON TargetPriorAdjustment reads."""
    em = estimate_prior_em(
        logits,
        source_log_prior(trained_on, log_prior_from_counts(train_counts),
                         logits.shape[1]), args.em_tol, args.em_max_iter)
    with open(args.estimate_prior, 'w') as f:
        json.dump(
            dict(
                prior=em.prior.tolist(),
                iterations=em.iterations,
                converged=em.converged,
                trained_on=trained_on,
                temperature=temperature),
            f,
            indent=1)
    post_processors = [
        f"dict(type='TargetPriorAdjustment', target_prior="
        f"'{args.estimate_prior}', trained_on='{trained_on}')"
    ]
    if temperature != 1:
        post_processors.insert(
            0, f"dict(type='TemperatureScaling', temperature={temperature})")
    print(f'EM estimate of the test prior ({em.iterations} iterations, '
          f'{"converged" if em.converged else "NOT converged"}) written to '
          f'{args.estimate_prior}; use it with model.head.post_processors='
          f'[{", ".join(post_processors)}]')


if __name__ == '__main__':
    run_tool(main)
