from .dkf_neck import DKFNeck
from .expert_stages import ConvNeXtExpertStage, SwinExpertStage, ViTExpertStage

__all__ = [
    'DKFNeck', 'ConvNeXtExpertStage', 'SwinExpertStage', 'ViTExpertStage'
]
