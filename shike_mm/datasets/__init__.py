from .cifar_lt import CIFAR10LT, CIFAR100LT, long_tail_counts
from .class_counts import (dataset_labels, describe_dataset,
                           get_train_class_counts)
from .digits_lt import DigitsLT
from .held_out_split import HeldOutSplit
from .lt_benchmarks import ImageNetLT, INaturalist2018, PlacesLT
from .prior_shift_dataset import TEST_PRIORS, PriorShiftDataset
from .samplers import ClassAwareSampler
from .split_file import SplitFileError, read_split_file
from .split_file_dataset import SplitFileDataset
from .transforms import CropView, crop_ensemble_pipeline

__all__ = [
    'CIFAR10LT', 'CIFAR100LT', 'long_tail_counts', 'dataset_labels',
    'describe_dataset', 'get_train_class_counts', 'DigitsLT',
    'INaturalist2018', 'ImageNetLT', 'PlacesLT', 'SplitFileError',
    'read_split_file', 'SplitFileDataset', 'ClassAwareSampler', 'HeldOutSplit',
    'PriorShiftDataset', 'TEST_PRIORS', 'CropView', 'crop_ensemble_pipeline'
]
