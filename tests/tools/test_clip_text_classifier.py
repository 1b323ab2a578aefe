"""tools/misc/clip_text_classifier.py: a converted CLIP checkpoint, class
names and prompt templates give the head's initial weights; bad input is
one clear error."""
import pytest
import torch

from shike_mm.models.utils.clip_text_encoder import CLIPTextEncoder
from shike_mm.models.utils.text_classifier import (load_text_classifier,
                                                   text_classifier_weights)
from shike_mm.utils import load_local_checkpoint

TOOL = 'misc/clip_text_classifier.py'
DIGITS = [
    'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight',
    'nine'
]


@pytest.fixture
def clip_checkpoint(fake_clip):
    return fake_clip.converted


@pytest.fixture
def names_file(tmp_path):
    path = tmp_path / 'digits.txt'
    path.write_text('\n'.join(DIGITS) + '\n')
    return path


def test_weights_from_the_text_tower(clip_checkpoint, names_file, tmp_path,
                                     load_tool):
    out = tmp_path / 'text.pth'
    weight = load_tool(TOOL).main([
        str(clip_checkpoint),
        str(out), '--class-names',
        str(names_file), '--num-classes', '10', '--template',
        'a photo of the number {}.', '--template', 'a drawing of {}.'
    ])
    assert weight.shape == (10, 64)
    torch.testing.assert_close(load_text_classifier(str(out), 10, 64), weight)
    meta = load_local_checkpoint(str(out))['meta']
    assert meta['classes'] == DIGITS
    assert meta['templates'] == [
        'a photo of the number {}.', 'a drawing of {}.'
    ]
    clip = load_local_checkpoint(str(clip_checkpoint))
    assert meta['backbone_sha256'] == clip['meta']['backbone_sha256']
    text = {
        k[len('text.'):]: v
        for k, v in clip['state_dict'].items() if k.startswith('text.')
    }
    expected = text_classifier_weights(
        CLIPTextEncoder.from_state_dict(text),
        clip['state_dict']['visual_proj.proj'].float(), DIGITS,
        meta['templates'])
    torch.testing.assert_close(weight, expected)


def test_class_names_of_a_config_dataset(clip_checkpoint, tmp_path, load_tool):
    weight = load_tool(TOOL).main([
        str(clip_checkpoint),
        str(tmp_path / 'text.pth'), '--config', 'shike/shike_r32_digits-lt.py'
    ])
    assert weight.shape == (10, 64)
    meta = load_local_checkpoint(str(tmp_path / 'text.pth'))['meta']
    assert meta['classes'] == [str(d) for d in range(10)]


def test_bad_input_is_one_clear_error(clip_checkpoint, names_file, tmp_path,
                                      load_tool, run_tool):
    not_clip = tmp_path / 'not_clip.pth'
    torch.save(dict(state_dict={'backbone.x': torch.zeros(1)}), not_clip)
    cases = [
        ([clip_checkpoint, '--class-names', names_file, '--num-classes', '11'],
         'digits.txt has 10 class names, but the model has 11 classes'),
        ([
            clip_checkpoint, '--class-names', names_file, '--template',
            'a photo of a cat'
        ], 'must hold "{}" exactly once'),
        ([clip_checkpoint, '--class-names',
          tmp_path / 'none.txt'], 'none.txt'),
        ([not_clip, '--class-names',
          names_file], 'is not a CLIP checkpoint with its text tower'),
    ]
    for options, message in cases:
        argv = [str(options[0]), str(tmp_path / 'out.pth')
                ] + [str(o) for o in options[1:]]
        with pytest.raises((ValueError, OSError)) as error:
            load_tool(TOOL).main(argv)
        assert message in str(error.value)
    assert not (tmp_path / 'out.pth').exists()
    # On the command line: one line, exit status 1.
    proc = run_tool(
        TOOL,
        clip_checkpoint,
        tmp_path / 'out.pth',
        '--class-names',
        names_file,
        '--num-classes',
        '11',
        check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(
        'clip_text_classifier.py: error: ')


def test_placeholder_class_names_are_refused(clip_checkpoint, tmp_path,
                                             tiny_image_folder, load_tool):
    # Places-LT without class names: class_0, class_1, ...
    config = tmp_path / 'places.py'
    config.write_text(
        "train_dataloader = dict(dataset=dict(type='PlacesLT', "
        f"data_root='{tiny_image_folder}', ann_file='train.txt', "
        "num_classes=4))\n")
    with pytest.raises(
            ValueError,
            match='names its classes class_0, '
            'class_1, ... \\(placeholders'):
        load_tool(TOOL).main([
            str(clip_checkpoint),
            str(tmp_path / 'out.pth'), '--config',
            str(config)
        ])
