"""The large-scale long-tailed benchmarks: ImageNet-LT, Places-LT and
iNaturalist 2018."""
from typing import Sequence

from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
from mmpretrain.registry import DATASETS

from .split_file_dataset import SplitFileDataset


@DATASETS.register_module()
class ImageNetLT(SplitFileDataset):
    """ImageNet-LT (Liu et al., CVPR 2019): 1000 classes, 115,846 training
    images (1280 to 5 per class), 20,000 val and 50,000 test images.

    Split files: ``ImageNet_LT_{train,val,test}.txt`` with lines such as
    ``train/n01440764/n01440764_190.JPEG 0``, relative to the ImageNet
    root. With 1000 classes the class names are ImageNet's.

    Args:
        ann_file (str): Split file, e.g. ``'ImageNet_LT_train.txt'``.
        data_root (str): ImageNet root holding the split files and images.
        num_classes (int): Number of classes. Defaults to 1000.
        **kwargs: Other arguments of :class:`SplitFileDataset`
            (``data_prefix``, ``check_files``,
            ``pipeline``, ...).
    """
    NUM_CLASSES = 1000

    def default_class_names(self) -> Sequence[str]:
        """ImageNet's names for the standard 1000 classes, else
        ``class_<i>``."""
        if self.num_classes == len(IMAGENET_CATEGORIES):
            return IMAGENET_CATEGORIES
        return super().default_class_names()


@DATASETS.register_module()
class PlacesLT(SplitFileDataset):
    """Places-LT (Liu et al., CVPR 2019): 365 classes, 62,500 training
    images (4980 to 5 per class), 7,300 val and 36,500 test images.

    Split files: ``Places_LT_{train,val,test}.txt``, paths relative to the
    Places365 image root.

    Args:
        ann_file (str): Split file, e.g. ``'Places_LT_train.txt'``.
        data_root (str): Root holding the split files and images.
        num_classes (int): Number of classes. Defaults to 365.
        **kwargs: Other arguments of :class:`SplitFileDataset`
            (``data_prefix``, ``check_files``,
            ``pipeline``, ...).
    """
    NUM_CLASSES = 365


@DATASETS.register_module()
class INaturalist2018(SplitFileDataset):
    """iNaturalist 2018 (Van Horn et al., CVPR 2018): 8142 classes, 437,513
    training images (1000 to 2 per class) and 24,426 val images (the
    long-tail literature's test set).

    Split files: ``iNaturalist18_{train,val}.txt``, paths such as
    ``train_val2018/Plantae/7477/<id>.jpg`` relative to the iNat root; see
    ``tools/dataset_converters/convert_inat2018.py`` to build them from the
    official json files.

    Args:
        ann_file (str): Split file, e.g. ``'iNaturalist18_train.txt'``.
        data_root (str): Root holding the split files and images.
        num_classes (int): Number of classes. Defaults to 8142.
        **kwargs: Other arguments of :class:`SplitFileDataset`
            (``data_prefix``, ``check_files``,
            ``pipeline``, ...).
    """
    NUM_CLASSES = 8142
