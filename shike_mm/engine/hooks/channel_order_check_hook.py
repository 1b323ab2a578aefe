"""Stop a run whose datasets and data preprocessor disagree on the channel
order."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from ..run_checks import check_channel_order


@HOOKS.register_module()
class ChannelOrderCheckHook(Hook):
    """Check that the data preprocessor converts what the datasets serve.

    Datasets that serve in-memory arrays (the CIFAR-LT datasets) record
    their channel order as ``metainfo['channel_order']``. A BGR dataset
    needs ``to_rgb=True`` in the model's data preprocessor and an RGB one
    ``to_rgb=False``; otherwise the network sees swapped red and blue
    channels and the normalisation statistics land on the wrong channels,
    silently. The training and validation datasets are checked before
    training, the test dataset before testing, by
    :func:`~shike_mm.engine.run_checks.check_channel_order`, as the analysis
    tools check theirs. Datasets without the key (images read by
    ``LoadImageFromFile`` are BGR) and data preprocessors without
    ``to_rgb`` are left alone.
    """

    priority = 'ABOVE_NORMAL'

    def before_train(self, runner) -> None:
        self._check(runner, 'train_dataloader', runner.train_dataloader)
        if runner.val_loop is not None:
            self._check(runner, 'val_dataloader', runner.val_loop.dataloader)

    def before_test(self, runner) -> None:
        self._check(runner, 'test_dataloader', runner.test_loop.dataloader)

    @staticmethod
    def _check(runner, loader_name: str, dataloader) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        check_channel_order(loader_name, dataloader.dataset,
                            model.data_preprocessor)
