"""Check that a loaded checkpoint fits the model before its weights are
copied."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from shike_mm.models.peft.pretrained_base import (BASE_WEIGHTS_META_KEY,
                                                  base_weights_of)
from ..run_checks import check_checkpoint_fits


@HOOKS.register_module()
class CheckpointMatchHook(Hook):
    """Stop, or warn loudly, when a checkpoint does not fit the model.

    MMEngine loads ``load_from`` and resumed checkpoints non-strictly: a
    checkpoint of another model (other experts, another head) loads with a
    log line, and its missing weights keep their random initialisation.
    This hook compares the checkpoint's ``state_dict`` with the model's
    (missing keys, unexpected keys, shape mismatches) right after it is
    read (:func:`~shike_mm.engine.run_checks.check_checkpoint_fits`, the
    check the analysis tools make too):

    - a resumed checkpoint that does not fit always stops the run;
    - with ``strict=True`` (``tools/test.py`` sets it unless
      ``--non-strict``) any other checkpoint that does not fit stops it;
    - otherwise (``load_from`` in training, for fine-tuning) a WARNING
      names the checkpoint and the first keys of each kind.

    Models built on frozen base weights (``PretrainedBase``) save only what
    trained; every checkpoint records the base weights' content hash in
    ``meta['base_weights']``, and a checkpoint trained on other base
    weights always stops the run, naming both hashes (one that records
    none gets a WARNING).

    Args:
        strict (bool): Treat a mismatch of a non-resumed checkpoint as an
            error. Defaults to False.
    """

    priority = 'VERY_HIGH'

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bases = base_weights_of(self._model(runner))
        if bases:
            checkpoint.setdefault('meta', {})[BASE_WEIGHTS_META_KEY] = bases

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        name = runner.cfg.get('load_from') or \
            f'(the latest checkpoint in {runner.work_dir})'
        if runner.cfg.get('resume'):
            strict, fix = True, ('A run can only resume with the model it '
                                 'was trained with: use the config of that '
                                 'run')
        else:
            strict, fix = self.strict, (
                'Use the config it was trained with, or load it anyway with '
                '--non-strict (tools/test.py) or '
                'default_hooks.checkpoint_match.strict=False')
        check_checkpoint_fits(
            self._model(runner), checkpoint, name, strict, fix, runner.logger)
