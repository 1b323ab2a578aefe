"""Two CPU processes (gloo) train the CIFAR-LT config across the switch."""
import os
import subprocess
import sys

from shike_mm.utils import load_local_checkpoint

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_two_processes_train_across_the_switch(tmp_path,
                                               short_shike_cifar_config,
                                               free_port):
    config = short_shike_cifar_config(max_epochs=2, switch_epoch=1)
    work_dir = tmp_path / 'ddp'
    proc = subprocess.run(
        [
            sys.executable, '-m', 'torch.distributed.run', '--nnodes=1',
            '--nproc_per_node=2', '--master_addr=127.0.0.1',
            f'--master_port={free_port}', '-m',
            'shike_mm.testing.without_cifar_md5',
            os.path.join(REPO_ROOT, 'tools', 'train.py'), config, '--launcher',
            'pytorch', '--work-dir',
            str(work_dir)
        ],
        cwd=tmp_path,  # MMEngine makes .dist_test here
        capture_output=True,
        text=True,
        timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert 'Distributed training: True' in log
    assert 'loss_bal' in log and 'loss_dkt' in log
    final = load_local_checkpoint(str(work_dir / 'epoch_2.pth'))
    assert int(final['state_dict']['head.stage']) == 2
