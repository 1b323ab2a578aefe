"""Run a script with a fault in its checkpoint writes, for tests.

Usage::

    python -m shike_mm.testing.checkpoint_faults FAULT NAME \
        tools/train.py CONFIG ...

The first time MMEngine's local file backend writes a file whose name
starts with NAME (``epoch_2.pth`` also matches a temporary
``epoch_2.pth.partial``), FAULT happens:

- ``kill``: half of the file is written, then the process is killed
  (SIGKILL, as a pre-empted job without a grace period);
- ``sigterm``: half of the file is written, then the process sends itself
  SIGTERM (as a scheduler pre-empts a job);
- ``fill``: the file system is filled (with ``disk_filler`` next to the
  file) so that less than half of the file fits, then the write goes on.
"""
import os
import os.path as osp
import runpy
import shutil
import signal
import sys

from mmengine.fileio import LocalBackend

FAULTS = ('kill', 'sigterm', 'fill')
FILLER = 'disk_filler'


def fill_file_system(folder: str, leave: int) -> None:
    """Fill the file system of ``folder`` until about ``leave`` bytes are
    free, with a file :data:`FILLER` in ``folder``."""
    size = shutil.disk_usage(folder).free - leave
    if size > 0:
        with open(osp.join(folder, FILLER), 'wb') as filler:
            os.posix_fallocate(filler.fileno(), 0, size)


def inject(fault: str, name: str) -> None:
    """Patch ``LocalBackend.put`` to inject ``fault`` into the first write
    of a file whose name starts with ``name``."""
    put = LocalBackend.put
    pending = [True]

    def faulty_put(self, obj, filepath):
        if pending and osp.basename(str(filepath)).startswith(name):
            pending.clear()
            if fault == 'fill':
                fill_file_system(osp.dirname(str(filepath)), len(obj) // 2)
            else:
                with open(filepath, 'wb') as half:
                    half.write(obj[:len(obj) // 2])
                os.kill(os.getpid(),
                        signal.SIGKILL if fault == 'kill' else signal.SIGTERM)
        return put(self, obj, filepath)

    LocalBackend.put = faulty_put


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[1] not in FAULTS:
        raise SystemExit(__doc__)
    fault, name, script = sys.argv[1:4]
    inject(fault, name)
    sys.argv = sys.argv[3:]
    runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
    main()
