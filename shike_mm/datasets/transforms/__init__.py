from .crop_views import (CROP_ENSEMBLES, FIVE_CROP_VIEWS, CropView,
                         crop_ensemble_pipeline)

__all__ = [
    'CropView', 'crop_ensemble_pipeline', 'FIVE_CROP_VIEWS', 'CROP_ENSEMBLES'
]
