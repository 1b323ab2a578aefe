from .cifar_resnet import CIFARResNet

__all__ = ['CIFARResNet']
