"""CropView cuts torchvision's FiveCrop views; crop_ensemble_pipeline turns
a plain test pipeline into a five- or ten-crop TestTimeAug."""
import numpy as np
import pytest

from shike_mm.datasets.transforms import (FIVE_CROP_VIEWS, CropView,
                                          crop_ensemble_pipeline)

PLAIN = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]


@pytest.mark.parametrize('view, top, left', [('top_left', 0, 0),
                                             ('top_right', 0, 4),
                                             ('bottom_left', 5, 0),
                                             ('bottom_right', 5, 4),
                                             ('center', 2, 2)])
def test_views_are_corners_and_centre(view, top, left):
    image = np.arange(9 * 8 * 3).reshape(9, 8, 3)
    out = CropView(crop_size=4, view=view).transform(dict(img=image))
    np.testing.assert_array_equal(out['img'], image[top:top + 4,
                                                    left:left + 4])
    assert out['img_shape'] == (4, 4)


def test_centre_rounds_as_torchvision():
    # (9 - 4) / 2 = 2.5 and (7 - 4) / 2 = 1.5: Python rounds to even.
    image = np.zeros((9, 7, 1))
    image[2, 2] = 1
    out = CropView(crop_size=4, view='center').transform(dict(img=image))
    assert out['img'][0, 0, 0] == 1


def test_pipelines():
    five = crop_ensemble_pipeline(PLAIN, 'five', 248)
    assert five[:1] == PLAIN[:1]
    assert five[1] == dict(type='ResizeEdge', scale=248, edge='short')
    (views, pack), = [five[2]['transforms']]
    assert [v['view'] for v in views] == list(FIVE_CROP_VIEWS)
    assert all(v['crop_size'] == 224 for v in views)
    assert pack == [dict(type='PackInputs')]
    ten = crop_ensemble_pipeline(PLAIN, 'ten', 248)
    flips, views, _ = ten[2]['transforms']
    assert [f['prob'] for f in flips] == [0., 1.]
    assert PLAIN[1]['scale'] == 256  # the plain pipeline is not modified


def test_errors():
    with pytest.raises(ValueError, match='must be ResizeEdge, CenterCrop'):
        crop_ensemble_pipeline(PLAIN[:2] + PLAIN[3:], 'five', 248)
    with pytest.raises(ValueError, match="one of \\['five', 'ten'\\]"):
        crop_ensemble_pipeline(PLAIN, 'three', 248)
    with pytest.raises(ValueError, match='less than its 224 crops'):
        crop_ensemble_pipeline(PLAIN, 'five', 200)
    with pytest.raises(ValueError, match='does not fit'):
        CropView(8, 'center').transform(dict(img=np.zeros((4, 9, 3))))
    with pytest.raises(ValueError, match='view must be one of'):
        CropView(8, 'middle')
