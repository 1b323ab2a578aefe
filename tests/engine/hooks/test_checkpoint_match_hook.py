"""CheckpointMatchHook: a checkpoint of another model never loads
silently."""
import pytest
import torch
from mmpretrain.registry import MODELS

from shike_mm.utils.checkpoint import CheckpointMismatchError


@pytest.fixture
def two_expert_checkpoint(tiny_shike_cfg, tmp_path):
    """A checkpoint of the same SHIKE model with 2 experts instead of 3."""
    cfg = tiny_shike_cfg()
    cfg.model.neck.num_experts = cfg.model.head.num_experts = 2
    model = MODELS.build(cfg.model)
    path = str(tmp_path / 'two_experts.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def test_load_from_in_training_warns_with_the_keys(tiny_shike_cfg,
                                                   run_in_process, read_log,
                                                   two_expert_checkpoint):
    cfg = tiny_shike_cfg(max_epochs=2, switch_epoch=1)
    cfg.load_from = two_expert_checkpoint
    run_in_process(cfg)
    log = read_log(cfg.work_dir)
    assert (f'WARNING - Checkpoint {two_expert_checkpoint} does not match '
            'the model: ') in log
    assert 'missing (neck.expert_stages.2.' in log
    assert 'the others keep their initialisation' in log


def test_resuming_it_stops_the_run(tiny_shike_cfg, run_in_process,
                                   two_expert_checkpoint):
    cfg = tiny_shike_cfg()
    cfg.resume, cfg.load_from = True, two_expert_checkpoint
    with pytest.raises(CheckpointMismatchError) as error:
        run_in_process(cfg)
    assert str(error.value).startswith(
        f'Checkpoint {two_expert_checkpoint} does not match the model: ')
    assert 'A run can only resume with the model it was trained with' in \
        str(error.value)


def test_strict_testing_stops_before_any_prediction(tiny_shike_cfg,
                                                    run_in_process,
                                                    two_expert_checkpoint):
    cfg = tiny_shike_cfg()
    cfg.load_from = two_expert_checkpoint
    cfg.default_hooks.checkpoint_match = dict(
        type='CheckpointMatchHook', strict=True)
    with pytest.raises(CheckpointMismatchError, match='--non-strict'):
        run_in_process(cfg, mode='test')
