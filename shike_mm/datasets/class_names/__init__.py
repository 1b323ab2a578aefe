"""Class names of the long-tailed benchmarks, for text prompts.

Shipped with the package, one name per line in label order:

- ``cifar100``: CIFAR-100's names (MMPretrain's ``CIFAR100_CATEGORIES``,
  as torchvision spells them, e.g. ``aquarium_fish``);
- ``imagenet-lt``: the curated ImageNet names of CLIP's zero-shot
  evaluation (MMPretrain's ``IMAGENET_SIMPLE_CATEGORIES``; LIFT's list);
- ``places-lt``: the 365 Places365 categories of
  ``categories_places365.txt`` without their letter folder, ``/`` written
  ``-`` (``/a/apartment_building/outdoor`` is
  ``apartment_building-outdoor``; LIFT's list).

iNaturalist 2018's 8142 names are read from the dataset's own
``categories.json`` (or ``train2018.json``): the ``name`` of the category
whose ``id`` is the label.
"""
import json
import os.path as osp
from typing import Dict, List

FOLDER = osp.dirname(osp.abspath(__file__))
#: Built-in name lists: key -> file in this folder.
BUILTIN_CLASS_NAMES: Dict[str, str] = {
    'cifar100': 'cifar100.txt',
    'imagenet-lt': 'imagenet-lt.txt',
    'places-lt': 'places-lt.txt',
}


def read_class_names(path: str) -> List[str]:
    """Read a class-names file: one name per line, in label order.

    Surrounding whitespace is stripped; an empty line is an error (a name
    missing or a stray blank line would shift every label after it), so
    is an empty file.

    Args:
        path (str): The file.

    Returns:
        list[str]: The names.
    """
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()  # trailing blank lines
    if not lines:
        raise ValueError(f'{path}: no class names')
    names = []
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name:
            raise ValueError(
                f'{path}, line {number}: empty class name (the file must '
                'hold one name per line, in label order)')
        names.append(name)
    return names


def inat_class_names(path: str) -> List[str]:
    """The class names of iNaturalist 2018 from its ``categories.json``
    (a list of categories) or ``train2018.json`` (with ``categories``):
    name ``i`` is the ``name`` of the category whose ``id`` is ``i``, the
    label ``tools/dataset_converters/convert_inat2018.py`` writes.

    Args:
        path (str): The json file.

    Returns:
        list[str]: The names, by category id.
    """
    with open(path, encoding='utf-8') as f:
        content = json.load(f)
    categories = content.get('categories') if isinstance(content,
                                                         dict) else content
    if not isinstance(categories, list) or not categories:
        raise ValueError(f'{path}: not a list of categories nor a json '
                         'object with "categories"')
    try:
        by_id = {int(c['id']): str(c['name']) for c in categories}
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f'{path}: every category needs an "id" and a '
                         f'"name" ({type(error).__name__}: {error})') from None
    if sorted(by_id) != list(range(len(categories))):
        raise ValueError(f'{path}: category ids are not 0..'
                         f'{len(categories) - 1} without gaps or repeats')
    return [by_id[i] for i in range(len(by_id))]


def load_class_names(source: str) -> List[str]:
    """Class names from a built-in list, a names file or an iNaturalist
    json.

    Args:
        source (str): A key of :data:`BUILTIN_CLASS_NAMES`, a ``.json``
            file (iNaturalist categories) or a text file (one name per
            line).

    Returns:
        list[str]: The names, in label order.
    """
    if source in BUILTIN_CLASS_NAMES:
        return read_class_names(osp.join(FOLDER, BUILTIN_CLASS_NAMES[source]))
    if not osp.isfile(source):
        raise FileNotFoundError(
            f'Class names {source!r}: no such file, and not one of the '
            f'built-in lists {sorted(BUILTIN_CLASS_NAMES)}')
    if source.endswith('.json'):
        return inat_class_names(source)
    return read_class_names(source)


__all__ = [
    'BUILTIN_CLASS_NAMES', 'read_class_names', 'inat_class_names',
    'load_class_names'
]
