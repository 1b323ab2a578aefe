from .shike_head import SHIKEHead

__all__ = ['SHIKEHead']
