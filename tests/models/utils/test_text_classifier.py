"""Classifier weights from class names equal LIFT's text-feature path
(its float64 reference): CLIP's text tower with the causal mask, the
end-of-text token, the text projection, normalisation, the mean over the
templates, ``t @ proj.T`` and normalisation again."""
import pytest
import torch

from shike_mm.models.utils.clip_text_encoder import CLIPTextEncoder
from shike_mm.models.utils.clip_tokenizer import clip_tokenize
from shike_mm.models.utils.text_classifier import (check_templates,
                                                   load_text_classifier,
                                                   prompt_text,
                                                   save_text_classifier,
                                                   text_classifier_weights)
from shike_mm.utils.checkpoint import CheckpointMismatchError

WIDTH, LAYERS, HEADS, EMBED, VISUAL = 128, 2, 2, 32, 48
NAMES = ['aquarium_fish', 'maple tree', 'snail']
TEMPLATES = ['a photo of a {}.', 'itap of a {}.']


def _random_encoder(seed=0):
    torch.manual_seed(seed)
    encoder = CLIPTextEncoder(49408, 77, WIDTH, LAYERS, HEADS, EMBED).double()
    with torch.no_grad():
        for name, param in encoder.named_parameters():
            if name.endswith('weight') and param.dim() == 1:
                param.normal_(1.0, 0.2)  # LayerNorms
            else:
                param.normal_(0.0, 0.3)
    return encoder


def _reference_params(encoder):
    blocks = []
    for block in encoder.transformer.resblocks:
        blocks.append(
            dict(
                ln_1_weight=block.ln_1.weight,
                ln_1_bias=block.ln_1.bias,
                in_proj_weight=block.attn.in_proj_weight,
                in_proj_bias=block.attn.in_proj_bias,
                out_proj_weight=block.attn.out_proj.weight,
                out_proj_bias=block.attn.out_proj.bias,
                ln_2_weight=block.ln_2.weight,
                ln_2_bias=block.ln_2.bias,
                c_fc_weight=block.mlp.c_fc.weight,
                c_fc_bias=block.mlp.c_fc.bias,
                c_proj_weight=block.mlp.c_proj.weight,
                c_proj_bias=block.mlp.c_proj.bias))
    return dict(
        token_embedding=encoder.token_embedding.weight,
        positional_embedding=encoder.positional_embedding,
        blocks=blocks,
        ln_final=(encoder.ln_final.weight, encoder.ln_final.bias),
        text_projection=encoder.text_projection)


@pytest.mark.parametrize('templates', [TEMPLATES[:1], TEMPLATES])
def test_weights_equal_lift_text_feature_path(lift_reference, templates):
    encoder = _random_encoder()
    projection = torch.randn(VISUAL, EMBED, dtype=torch.float64)
    weights = text_classifier_weights(encoder, projection, NAMES, templates)
    assert weights.shape == (len(NAMES), VISUAL)
    tokens = [
        clip_tokenize([t.format(n.replace('_', ' ')) for n in NAMES])
        for t in templates
    ]
    with torch.no_grad():
        expected = lift_reference.text_head_init(
            _reference_params(encoder), tokens, HEADS, projection)
    torch.testing.assert_close(weights, expected, rtol=1e-10, atol=1e-10)


def test_encoder_loads_clip_keys():
    encoder = _random_encoder()
    state = {k: v.half() for k, v in encoder.state_dict().items()}
    assert 'transformer.resblocks.1.mlp.c_fc.weight' in state
    loaded = CLIPTextEncoder.from_state_dict(state)
    assert len(loaded.transformer.resblocks) == LAYERS
    assert loaded.transformer.resblocks[0].attn.num_heads == HEADS
    tokens = clip_tokenize(['a photo of a snail.'])
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(tokens),
            encoder.half().float()(tokens),
            rtol=1e-5,
            atol=1e-5)


def test_prompts_and_templates():
    assert prompt_text('a photo of a {}.', 'aquarium_fish') == \
        'a photo of a aquarium fish.'
    for bad in ('a photo', 'a {} of {}', 'a {0} photo {}'):
        with pytest.raises(ValueError, match='exactly once|does not format'):
            check_templates([bad])
    with pytest.raises(ValueError, match='has 80 tokens, more than the 77'):
        clip_tokenize(['cat ' * 78])


def test_file_round_trip_and_shape_check(tmp_path):
    path = str(tmp_path / 'text.pth')
    weight = torch.randn(3, 8)
    save_text_classifier(path, weight, dict(classes=['a', 'b', 'c']))
    torch.testing.assert_close(load_text_classifier(path, 3, 8), weight)
    with pytest.raises(
            CheckpointMismatchError,
            match=r'holds 3 class vectors of 8 dims, but the head has '
            r'num_classes=4 and in_channels=8'):
        load_text_classifier(path, 4, 8)
    torch.save(dict(weight=weight), tmp_path / 'other.pth')
    with pytest.raises(CheckpointMismatchError, match='not a text classifier'):
        load_text_classifier(str(tmp_path / 'other.pth'))


def test_head_loads_the_weights_before_training(tmp_path):
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    path = str(tmp_path / 'text.pth')
    weight = torch.nn.functional.normalize(torch.randn(5, 8), dim=1)
    save_text_classifier(path, weight, {})
    head = MODELS.build(
        dict(
            type='CosineClsHead',
            num_classes=5,
            in_channels=8,
            text_weights=path))
    head.init_weights()
    torch.testing.assert_close(head.fc.weight, weight)
    wrong = MODELS.build(
        dict(
            type='CosineClsHead',
            num_classes=6,
            in_channels=8,
            text_weights=path))
    with pytest.raises(CheckpointMismatchError, match='num_classes=6'):
        wrong.init_weights()
