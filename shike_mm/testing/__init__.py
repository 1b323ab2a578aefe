"""Helpers that build small, fake datasets for tests, smoke runs and
benchmarks. They never touch the network."""
from .fake_clip import write_fake_clip_archive
from .fake_data import bypass_cifar_md5, write_fake_cifar, write_image_folder

__all__ = [
    'write_fake_cifar', 'bypass_cifar_md5', 'write_image_folder',
    'write_fake_clip_archive'
]
