from .dkf_neck import DKFNeck

__all__ = ['DKFNeck']
