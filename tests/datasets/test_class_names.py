"""The class names shipped for text prompts, and reading names files and
iNaturalist's categories."""
import json

import pytest
from mmpretrain.datasets.categories import (CIFAR100_CATEGORIES,
                                            IMAGENET_SIMPLE_CATEGORIES)

from shike_mm.datasets.class_names import (inat_class_names, load_class_names,
                                           read_class_names)


def test_builtin_lists():
    assert load_class_names('cifar100') == list(CIFAR100_CATEGORIES)
    # CLIP's curated ImageNet names, as LIFT prompts ImageNet-LT
    assert load_class_names('imagenet-lt') == list(IMAGENET_SIMPLE_CATEGORIES)
    places = load_class_names('places-lt')
    assert len(places) == len(set(places)) == 365
    # /a/apartment_building/outdoor 8, /s/shopfront 301, /z/zen_garden 364
    assert places[8] == 'apartment_building-outdoor'
    assert places[301] == 'shopfront'
    assert places[0] == 'airfield' and places[-1] == 'zen_garden'


def test_names_file(tmp_path):
    path = tmp_path / 'names.txt'
    path.write_text(' cat \ndog\n\n')
    assert read_class_names(str(path)) == ['cat', 'dog']
    path.write_text('cat\n\ndog\n')
    with pytest.raises(ValueError, match='names.txt, line 2: empty class'):
        load_class_names(str(path))
    path.write_text('\n')
    with pytest.raises(ValueError, match='no class names'):
        read_class_names(str(path))
    with pytest.raises(FileNotFoundError, match='not one of the built-in'):
        load_class_names(str(tmp_path / 'missing.txt'))


def test_inat_categories(tmp_path):
    categories = [
        dict(id=1, name='Bufo bufo', kingdom='Animalia'),
        dict(id=0, name='Hermodice carunculata', kingdom='Animalia'),
    ]
    path = tmp_path / 'categories.json'
    path.write_text(json.dumps(categories))
    assert load_class_names(
        str(path)) == ['Hermodice carunculata', 'Bufo bufo']
    path.write_text(json.dumps(dict(categories=categories, images=[])))
    assert inat_class_names(str(path))[1] == 'Bufo bufo'
    path.write_text(json.dumps([dict(id=0, name='a'), dict(id=2, name='b')]))
    with pytest.raises(ValueError, match='not 0..1 without gaps'):
        inat_class_names(str(path))
    path.write_text(json.dumps([dict(id=0)]))
    with pytest.raises(ValueError, match='needs an "id" and a "name"'):
        inat_class_names(str(path))
