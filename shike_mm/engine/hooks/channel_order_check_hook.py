"""Stop a run whose datasets and data preprocessor disagree on the channel
order."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from shike_mm.datasets.cifar_lt import CHANNEL_ORDER


@HOOKS.register_module()
class ChannelOrderCheckHook(Hook):
    """Check that the data preprocessor converts what the datasets serve.

    Datasets that serve in-memory arrays (the CIFAR-LT datasets) record
    their channel order as ``metainfo['channel_order']``. A BGR dataset
    needs ``to_rgb=True`` in the model's data preprocessor and an RGB one
    ``to_rgb=False``; otherwise the network sees swapped red and blue
    channels and the normalisation statistics land on the wrong channels,
    silently. The training and validation datasets are checked before
    training, the test dataset before testing. Datasets without the key
    (images read by ``LoadImageFromFile`` are BGR) and data preprocessors
    without ``to_rgb`` are left alone.
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
        order = dataloader.dataset.metainfo.get(CHANNEL_ORDER)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        to_rgb = getattr(model.data_preprocessor, 'to_rgb', None)
        if order is None or to_rgb is None:
            return
        if (order == 'bgr') != bool(to_rgb):
            raise ValueError(
                f'{loader_name}.dataset serves {order.upper()} images '
                f"(channel_order='{order}'), but the data preprocessor has "
                f'to_rgb={to_rgb}; set data_preprocessor.to_rgb='
                f"{order == 'bgr'} (with R, G, B mean/std) or the dataset's "
                f"channel_order='{'bgr' if to_rgb else 'rgb'}'")
