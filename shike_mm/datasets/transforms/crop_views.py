"""The crops of a five-crop or ten-crop test-time ensemble."""
import copy
from typing import List, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

#: The views of torchvision's ``FiveCrop``, in its order.
FIVE_CROP_VIEWS = ('top_left', 'top_right', 'bottom_left', 'bottom_right',
                   'center')
#: Views per crop ensemble; ten-crop adds the five crops of the mirror.
CROP_ENSEMBLES = {'five': 5, 'ten': 10}


@TRANSFORMS.register_module()
class CropView(BaseTransform):
    """Crop one view of torchvision's ``FiveCrop``: a corner or the centre.

    The centre crop starts at ``round((H - h) / 2)``, ``round((W - w) /
    2)`` (Python rounding, as torchvision's ``center_crop``).

    Required keys: ``img``. Modified keys: ``img``, ``img_shape``.

    Args:
        crop_size (int): Side of the square crop.
        view (str): One of :data:`FIVE_CROP_VIEWS`.
    """

    def __init__(self, crop_size: int, view: str):
        if view not in FIVE_CROP_VIEWS:
            raise ValueError(
                f'CropView.view must be one of {FIVE_CROP_VIEWS}, got {view!r}'
            )
        if crop_size < 1:
            raise ValueError(f'CropView.crop_size must be positive, got '
                             f'{crop_size}')
        self.crop_size = crop_size
        self.view = view

    def transform(self, results: dict) -> dict:
        img: np.ndarray = results['img']
        height, width = img.shape[:2]
        size = self.crop_size
        if size > height or size > width:
            raise ValueError(f'CropView: a {size}x{size} crop does not fit '
                             f'a {height}x{width} image')
        if self.view == 'center':
            top = int(round((height - size) / 2.0))
            left = int(round((width - size) / 2.0))
        else:
            top = 0 if self.view.startswith('top') else height - size
            left = 0 if self.view.endswith('left') else width - size
        img = img[top:top + size, left:left + size]
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, '
                f'view={self.view!r})')


def crop_ensemble_pipeline(test_pipeline: List[dict], views: str,
                           resize: Optional[int]) -> List[dict]:
    """The test-time-augmentation pipeline of a crop ensemble built from a
    plain test pipeline ending in a short-edge resize, a ``CenterCrop`` and
    ``PackInputs``.

    Everything before the resize is kept; the resize gets the short edge
    ``resize`` (LIFT: crop size + 24) and the centre crop becomes a
    ``TestTimeAug`` over the five views of ``FiveCrop`` (``'five'``) or
    over them for the image and its mirror (``'ten'``, the crops of
    torchvision's ``TenCrop``).

    Args:
        test_pipeline (list[dict]): The plain test pipeline.
        views (str): ``'five'`` or ``'ten'``.
        resize (int, optional): Short edge before cropping. None keeps the
            plain pipeline's.

    Returns:
        list[dict]: The pipeline, for ``tta_pipeline``.
    """
    if views not in CROP_ENSEMBLES:
        raise ValueError(f'Crop ensemble views must be one of '
                         f'{sorted(CROP_ENSEMBLES)}, got {views!r}')
    types = [str(t.get('type')) for t in test_pipeline]
    if len(types) < 3 or types[-1] != 'PackInputs' or \
            types[-2] != 'CenterCrop' or types[-3] != 'ResizeEdge':
        raise ValueError(
            'A crop ensemble replaces the end of the test pipeline, which '
            'must be ResizeEdge, CenterCrop, PackInputs; got ' +
            ' -> '.join(types))
    resize_step = copy.deepcopy(test_pipeline[-3])
    if resize is not None:
        resize_step['scale'] = resize
    crop_size = test_pipeline[-2]['crop_size']
    if not isinstance(crop_size, int):
        raise ValueError('A crop ensemble needs a square CenterCrop '
                         f'(crop_size=<int>), got crop_size={crop_size!r}')
    if resize_step['scale'] < crop_size:
        raise ValueError(f'A crop ensemble resizes to {resize_step["scale"]}'
                         f', less than its {crop_size} crops')
    transforms = [[
        dict(type='CropView', crop_size=crop_size, view=view)
        for view in FIVE_CROP_VIEWS
    ], [copy.deepcopy(test_pipeline[-1])]]
    if views == 'ten':
        transforms.insert(0, [
            dict(type='RandomFlip', prob=0.),
            dict(type='RandomFlip', prob=1., direction='horizontal')
        ])
    return copy.deepcopy(test_pipeline[:-3]) + [
        resize_step,
        dict(type='TestTimeAug', transforms=transforms)
    ]
