"""Stop a training run that would not train what its config asks for."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from shike_mm.datasets import describe_dataset
from .stage_switch_hook import SHIKEStageSwitchHook


@HOOKS.register_module()
class TrainingPlanCheckHook(Hook):
    """Before training, refuse a run that would end "green" without having
    trained what its config describes:

    - an epoch without an iteration: a training set smaller than one batch
      with ``drop_last=True`` trains nothing, yet would save checkpoints of
      the untrained model;
    - a head with a stage 2 (``head.has_stage2``, SHIKE's Balanced Softmax
      re-training) and no :class:`SHIKEStageSwitchHook` to switch to it:
      only stage 1 would train.

    The checks run before any other hook's ``before_train`` work.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        self._check_iterations(runner.train_dataloader)
        self._check_stage_switch(runner)

    @staticmethod
    def _check_iterations(dataloader) -> None:
        try:
            iterations = len(dataloader)
        except TypeError:  # an iterable dataset without a length
            return
        if iterations > 0:
            return
        dataset = describe_dataset(dataloader.dataset)
        if not getattr(dataloader, 'drop_last', False):
            raise ValueError(f'train_dataloader gives no iteration per '
                             f'epoch: {dataset} gives no sample')
        try:
            samples = f'{len(dataloader.sampler)} samples per process, fewer'
        except TypeError:  # a sampler without a length
            samples = 'fewer samples per process'
        raise ValueError(
            f'train_dataloader gives no iteration per epoch: {dataset} has '
            f'{samples} than batch_size={dataloader.batch_size}, and '
            'drop_last=True drops the '
            'incomplete batch, so every epoch would train nothing. Lower '
            'train_dataloader.batch_size, or set '
            'train_dataloader.drop_last=False')

    @staticmethod
    def _check_stage_switch(runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        head = getattr(model, 'head', None)
        if not getattr(head, 'has_stage2', False) or any(
                isinstance(hook, SHIKEStageSwitchHook)
                for hook in runner.hooks):
            return
        raise ValueError(
            f'model.head ({type(head).__name__}) has a stage 2 (bal_loss is '
            'set), but custom_hooks has no SHIKEStageSwitchHook to switch '
            'to it: only stage 1 would train, and the classifiers would '
            'never be re-trained with Balanced Softmax. Add '
            "dict(type='SHIKEStageSwitchHook', switch_epoch=..., "
            'stage2_lr_factor=...) to custom_hooks, or set '
            'model.head.bal_loss=None for a single-stage model')
