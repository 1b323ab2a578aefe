"""The analysis tools, which build their models and data loaders without a
Runner, refuse what tools/test.py refuses, with the same message: here a
CIFAR dataset that serves RGB next to a data preprocessor with
``to_rgb=True``, which would swap red and blue silently."""
import pytest
import torch
from helpers import if100_on_fake_cifar

from shike_mm.apis.inference import get_classifier
from shike_mm.testing import bypass_cifar_md5

RGB_DATASETS = {
    f'{loader}.dataset.channel_order': 'rgb'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
}
# The analysis tools' command lines after config and checkpoint; calibrate
# fits on the val split, here the training images (not the test split).
ANALYSIS_TOOLS = {
    'prior_shift_eval': [],
    'calibrate': ['--split', 'val'],
    'expert_aggregation': [],
    'long_tail_report': [],
}


@pytest.fixture(scope='module')
def mismatched(tmp_path_factory, fake_cifar):
    """The CIFAR-100-LT SHIKE config on fake CIFAR with RGB datasets (its
    data preprocessor keeps ``to_rgb=True``), and a checkpoint that fits
    its model, trained (as it says) on its training split."""
    root = tmp_path_factory.mktemp('mismatched')
    cfg = if100_on_fake_cifar(
        fake_cifar('cifar100', train_per_class=3, test_per_class=1),
        imb_factor=2)
    cfg.val_dataloader.dataset.split = 'train'
    cfg.merge_from_dict(RGB_DATASETS)
    config = root / 'rgb_datasets.py'
    cfg.dump(str(config))
    assert cfg.data_preprocessor.to_rgb is True
    with bypass_cifar_md5():
        model = get_classifier(str(config))
    checkpoint = root / 'shike.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return config, checkpoint


@pytest.fixture(scope='module')
def test_tool_error(mismatched, run_tool, tmp_path_factory):
    """What tools/test.py says about the config, as its last line."""
    config, checkpoint = mismatched
    proc = run_tool(
        'test.py',
        config,
        checkpoint,
        '--work-dir',
        tmp_path_factory.mktemp('test_tool'),
        check=False,
        fake_cifar=True)
    assert proc.returncode == 1
    last_line = proc.stderr.strip().splitlines()[-1]
    assert last_line.startswith('test.py: error: '), proc.stderr[-2000:]
    return last_line[len('test.py: error: '):]


def test_test_tool_refuses_the_channel_order(test_tool_error):
    assert test_tool_error.startswith(
        "test_dataloader.dataset serves RGB images (channel_order='rgb'), "
        'but the data preprocessor has to_rgb=True')


@pytest.mark.parametrize('tool', list(ANALYSIS_TOOLS))
def test_analysis_tool_refuses_it_as_the_test_tool_does(
        tool, mismatched, test_tool_error, load_tool, no_cifar_md5, tmp_path):
    config, checkpoint = mismatched
    argv = [str(config),
            str(checkpoint), '--out-dir',
            str(tmp_path / 'out')] + ANALYSIS_TOOLS[tool]
    with pytest.raises(ValueError) as error:
        load_tool(f'analysis_tools/{tool}.py').main(argv)
    assert str(error.value) == test_tool_error
    # Refused before any result was written.
    assert not list((tmp_path / 'out').iterdir())
