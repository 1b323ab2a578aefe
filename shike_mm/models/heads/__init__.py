from .cosine_cls_head import CosineClsHead
from .post_processed_head import PostProcessedHead
from .shike_head import SHIKEHead

__all__ = ['SHIKEHead', 'PostProcessedHead', 'CosineClsHead']
