"""Train several configs at the same time, one ``tools/train.py`` process
each, for a machine without a GPU whose cores would otherwise wait on one
run (the digits-LT quick start trains SHIKE and its baseline this way)::

    python tools/train_side_by_side.py \\
        configs/shike/shike_r32_digits-lt.py \\
        configs/shike/shike_r32_digits-lt_single-expert-ce.py \\
        --work-dirs work_dirs/digits-lt work_dirs/digits-lt-ce

Each run's console output goes to ``<work dir>/console.log``; its
validation lines are echoed here, prefixed with its work dir's name. Each run
chooses its torch threads as ``tools/train.py`` does: pin them in the
configs (``cpu_threads``; the digits configs pin 1) or with
``OMP_NUM_THREADS``, so that the runs together use no more threads than
there are cores. If a run fails, the others are stopped, the end of its
console output is printed and the exit status is 1.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from collections import deque

from shike_mm.utils.cli import run_tool

TRAIN_SCRIPT = osp.join(osp.dirname(osp.abspath(__file__)), 'train.py')
#: Lines of a run's console output echoed as they come.
ECHOED = ('Epoch(val)', 'Error', 'error:')
CONSOLE_LOG = 'console.log'
#: Lines of a failed run's console output printed at the end.
TAIL_LINES = 30


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train several configs at the same time, one process '
        'each')
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument(
        '--work-dirs',
        nargs='+',
        required=True,
        help='one work dir per config, in the same order')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='key=value overrides passed to every run')
    args = parser.parse_args(argv)
    if len(args.work_dirs) != len(args.configs):
        parser.error(f'{len(args.configs)} configs but '
                     f'{len(args.work_dirs)} --work-dirs; give one each')
    if len(set(map(osp.abspath, args.work_dirs))) != len(args.work_dirs):
        parser.error('the runs need different --work-dirs')
    return args


class Run:
    """One training process whose console output goes to a file and whose
    validation lines are echoed with a prefix."""

    def __init__(self, config: str, work_dir: str, cfg_options: list):
        self.name = osp.basename(osp.normpath(work_dir))
        self.work_dir = work_dir
        os.makedirs(work_dir, exist_ok=True)
        self.log_path = osp.join(work_dir, CONSOLE_LOG)
        self.tail = deque(maxlen=TAIL_LINES)
        command = [
            sys.executable, TRAIN_SCRIPT, config, '--work-dir', work_dir
        ]
        if cfg_options:
            command += ['--cfg-options', *cfg_options]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        with open(self.log_path, 'w') as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                self.tail.append(line)
                if any(key in line for key in ECHOED):
                    print(f'[{self.name}] {line.rstrip()}', flush=True)

    def wait(self) -> int:
        code = self.process.wait()
        self.reader.join()
        return code

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()


def main(argv=None):
    args = parse_args(argv)
    runs = []
    try:
        for config, work_dir in zip(args.configs, args.work_dirs):
            runs.append(Run(config, work_dir, args.cfg_options))
            print(
                f'[{runs[-1].name}] training, console output in '
                f'{runs[-1].log_path}',
                flush=True)
        failed = None
        pending = list(runs)
        while pending and failed is None:
            # The first run to end decides: a failure stops the others.
            done = _first_finished(pending)
            pending.remove(done)
            if done.wait() != 0:
                failed = done
    finally:  # a failure or Ctrl-C leaves no run behind
        for run in runs:
            run.stop()
        for run in runs:
            run.wait()
    if failed is not None:
        print(
            f'[{failed.name}] failed with exit status '
            f'{failed.process.returncode}; the end of {failed.log_path}:\n' +
            ''.join(failed.tail),
            file=sys.stderr)
        others = [r.name for r in runs if r is not failed]
        if others:
            print(
                f'Stopped the other runs: {", ".join(others)}',
                file=sys.stderr)
        sys.exit(1)
    for run in runs:
        print(f'[{run.name}] finished; checkpoints in {run.work_dir}')


def _first_finished(runs):
    """The first of ``runs`` whose process ends (polled every 0.2 s)."""
    while True:
        for run in runs:
            if run.process.poll() is not None:
                return run
        time.sleep(0.2)


if __name__ == '__main__':
    run_tool(main)
