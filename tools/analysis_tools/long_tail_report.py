"""Evaluate a long-tailed model (and optionally a baseline), print the
Many/Medium/Few table and write the analysis plots.

Writes into ``--out-dir``:

- ``report.md``: the Many/Medium/Few table (and each expert's table);
- ``per_class_<name>.json``: LongTailMetric's per-class table per model;
- ``class_accuracy.png``: per-class accuracy vs training frequency, all
  models side by side, with the Many/Medium/Few bands;
- ``expert_preference_<name>.png``: each expert's accuracy per group, for
  every model with more than one expert;
- ``learning_curves.png``: losses, LR and validation accuracy from the
  training log next to each checkpoint that has one, the models overlaid.

Example::

    python tools/analysis_tools/long_tail_report.py \\
        configs/shike/shike_r32_digits-lt.py \\
        work_dirs/digits-lt/epoch_30.pth \\
        --baseline configs/shike/shike_r32_digits-lt_single-expert-ce.py \\
        work_dirs/digits-lt-ce/epoch_30.pth
"""
import argparse
import os.path as osp

from shike_mm.apis import (evaluate_checkpoint, find_scalars_json,
                           format_expert_table, format_group_table,
                           plot_class_accuracy, plot_expert_preference,
                           plot_learning_curves)
from shike_mm.utils.cli import (add_cfg_options, add_device, load_config,
                                run_tool, set_cpu_threads, writable_folder)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Many/Medium/Few report and plots for a checkpoint')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--baseline',
        nargs=2,
        metavar=('CONFIG', 'CHECKPOINT'),
        help='a second model to compare with, evaluated the same way')
    parser.add_argument(
        '--name', help='label of the model (default: config file name)')
    parser.add_argument(
        '--baseline-name',
        help='label of the baseline (default: its config file name)')
    parser.add_argument(
        '--out-dir',
        help='folder for the table, per-class JSON and plots (default: '
        '"report" next to the checkpoint)')
    add_device(parser)
    add_cfg_options(parser, 'config overrides for both models, as '
                    'key=value pairs')
    return parser.parse_args(argv)


def _file_label(name: str) -> str:
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in name)


def main(argv=None):
    args = parse_args(argv)
    out_dir = writable_folder(
        args.out_dir
        or osp.join(osp.dirname(osp.abspath(args.checkpoint)), 'report'))
    models = [(args.config, args.checkpoint, args.name)]
    if args.baseline:
        models.append((*args.baseline, args.baseline_name))

    results = []
    for config, checkpoint, name in models:
        cfg = load_config(config, args.cfg_options)
        if not results:
            set_cpu_threads(cfg)
        name = name or osp.splitext(osp.basename(cfg.filename))[0]
        if any(r.name == name for r in results):
            raise ValueError(f'Both models are called {name!r}; tell them '
                             'apart with --name / --baseline-name')
        label = _file_label(name)
        results.append(
            evaluate_checkpoint(
                cfg,
                checkpoint,
                per_class_out=osp.join(out_dir, f'per_class_{label}.json'),
                name=name,
                device=args.device))

    sections = [
        '## Accuracy (%) on the balanced test split\n',
        format_group_table(results)
    ]
    if args.cfg_options and any(r.expected for r in results):
        sections.append('\n(--cfg-options changed the configs; the expected '
                        'rows are those of the recipes as shipped.)')
    trained_on = {
        r.name: [row['train_count'] for row in r.per_class]
        for r in results
    }
    if len({tuple(counts) for counts in trained_on.values()}) > 1:
        note = ('\n**Warning**: the models were trained on different class '
                'counts, so their Many/Medium/Few groups hold different '
                'classes: ' +
                '; '.join(f'{name}: {sum(counts)} images'
                          for name, counts in trained_on.items()) + '.\n')
        print(note.strip())
        sections.append(note)
    plot_class_accuracy({r.name: r.per_class
                         for r in results},
                        osp.join(out_dir, 'class_accuracy.png'))
    logs = {}
    for (_, checkpoint, _), result in zip(models, results):
        if result.num_experts > 1:
            sections += [
                f'\n## {result.name}: accuracy (%) of each expert\n',
                format_expert_table(result)
            ]
            plot_expert_preference(
                result,
                osp.join(out_dir,
                         f'expert_preference_{_file_label(result.name)}.png'))
        try:
            logs[result.name] = find_scalars_json(osp.dirname(checkpoint))
        except FileNotFoundError:
            print(f'No training log next to {checkpoint}: no learning '
                  'curves for it')
    if logs:  # the runs overlaid on the same axes
        plot_learning_curves(logs, osp.join(out_dir, 'learning_curves.png'))

    report = '\n'.join(sections) + '\n'
    with open(osp.join(out_dir, 'report.md'), 'w') as f:
        f.write(report)
    print('\n' + report)
    print(f'Report, per-class tables and plots in {out_dir}')
    return results


if __name__ == '__main__':
    run_tool(main)
