"""Run a script with MMPretrain's CIFAR md5 checks off, for fake data.

Usage::

    python -m shike_mm.testing.without_cifar_md5 tools/train.py CONFIG ...
    torchrun --nproc_per_node 2 -m shike_mm.testing.without_cifar_md5 \
        tools/train.py CONFIG --launcher pytorch
"""
import runpy
import sys

from .fake_data import bypass_cifar_md5


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    with bypass_cifar_md5():
        runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
    main()
