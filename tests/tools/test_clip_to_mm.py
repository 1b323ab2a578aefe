"""tools/model_converters/clip_to_mm.py: CLIP weights (the OpenAI
TorchScript archive, open_clip checkpoints) to MMPretrain's
VisionTransformer keys with the text tower kept; the converted vision tower
computes what CLIP's does."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from shike_mm.models.peft import state_dict_sha256
from shike_mm.testing.fake_clip import CLIP
from shike_mm.utils import load_local_checkpoint
from shike_mm.utils.checkpoint import CheckpointMismatchError

TOOL = 'model_converters/clip_to_mm.py'


def tiny_clip_vit(checkpoint, act='QuickGELU'):
    """MMPretrain's VisionTransformer as the fake CLIP's vision tower."""
    return dict(
        type='PretrainedBase',
        checkpoint=str(checkpoint),
        module=dict(
            type='VisionTransformer',
            arch=dict(
                embed_dims=64,
                num_layers=2,
                num_heads=1,
                feedforward_channels=256),
            img_size=32,
            patch_size=8,
            pre_norm=True,
            out_type='cls_token',
            norm_cfg=dict(type='LN', eps=1e-5),
            layer_cfgs=dict(act_cfg=dict(type=act))))


@pytest.fixture
def archive(fake_clip):
    return fake_clip.archive, dict(fake_clip.state)


def test_converted_vision_tower_computes_clips_features(
        archive, tmp_path, load_tool):
    path, state = archive
    dst = tmp_path / 'clip.pth'
    meta = load_tool(TOOL).main([str(path), str(dst)])
    converted = load_local_checkpoint(str(dst))
    weights = converted['state_dict']
    assert meta == converted['meta']
    assert meta['clip_arch'] == dict(
        embed_dims=64,
        num_layers=2,
        num_heads=1,
        patch_size=8,
        image_size=32,
        act='quick_gelu',
        ln_eps=1e-5,
        joint_dims=32,
        text=dict(
            width=64,
            num_layers=2,
            num_heads=1,
            context_length=77,
            vocab_size=49408))
    assert weights['backbone.cls_token'].shape == (1, 1, 64)
    assert torch.equal(weights['visual_proj.proj'], state['visual.proj'])
    assert torch.equal(weights['text.transformer.resblocks.1.ln_2.bias'],
                       state['transformer.resblocks.1.ln_2.bias'])
    assert all(v.dtype == torch.float16 for v in weights.values())

    init_default_scope('mmpretrain')
    ours = MODELS.build(tiny_clip_vit(dst)).double().eval()
    assert ours.base_weights['sha256'] == meta['backbone_sha256'] == \
        state_dict_sha256({
            k[len('backbone.'):]: v
            for k, v in weights.items() if k.startswith('backbone.')
        })
    clip = CLIP()
    clip.load_state_dict(state)
    clip = clip.double().eval()
    image = torch.randn(1, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        expected = clip.visual(image)
        features = ours(image)[0] @ weights['visual_proj.proj'].double()
    torch.testing.assert_close(features, expected, rtol=1e-10, atol=1e-10)


def test_open_clip_checkpoints_need_the_activation(archive, tmp_path,
                                                   load_tool):
    path, state = archive
    src = tmp_path / 'open_clip_pytorch_model.bin'
    torch.save({'module.' + k: v for k, v in state.items()}, src)
    with pytest.raises(ValueError, match='give --act quick_gelu'):
        load_tool(TOOL).main([str(src), str(tmp_path / 'x.pth')])
    dst = tmp_path / 'gelu.pth'
    meta = load_tool(TOOL).main([str(src), str(dst), '--act', 'gelu'])
    assert meta['clip_arch']['act'] == 'gelu'
    init_default_scope('mmpretrain')
    with pytest.raises(
            CheckpointMismatchError,
            match='trained with gelu in the MLPs, the model uses QuickGELU'):
        MODELS.build(tiny_clip_vit(dst))
    MODELS.build(tiny_clip_vit(dst, act='GELU'))
    with pytest.raises(
            ValueError, match='uses quick_gelu in its MLPs, but '
            '--act gelu'):
        load_tool(TOOL).main(
            [str(path), str(tmp_path / 'y.pth'), '--act', 'gelu'])


def test_safetensors(archive, tmp_path, load_tool):
    from safetensors.torch import save_file
    path, state = archive
    src = tmp_path / 'open_clip_model.safetensors'
    save_file({k: v.contiguous() for k, v in state.items()}, str(src))
    meta = load_tool(TOOL).main(
        [str(src), str(tmp_path / 'c.pth'), '--act', 'quick_gelu'])
    assert meta['clip_arch']['num_layers'] == 2


def test_other_layouts_are_refused(archive, tmp_path, load_tool):
    _, state = archive
    src = tmp_path / 'other.pth'
    torch.save(
        dict(state, **{'visual.attnpool.c_proj.weight': torch.zeros(2, 2)}),
        src)
    with pytest.raises(
            ValueError,
            match='not a CLIP ViT of the OpenAI '
            'layout: 1 keys .*visual.attnpool.c_proj.weight'):
        load_tool(TOOL).main(
            [str(src),
             str(tmp_path / 'x.pth'), '--act', 'quick_gelu'])
    del state['text_projection']
    torch.save(state, src)
    with pytest.raises(
            ValueError, match='no weights for text.text_projection'):
        load_tool(TOOL).main(
            [str(src),
             str(tmp_path / 'x.pth'), '--act', 'quick_gelu'])


def test_runs_from_the_command_line(tmp_path, run_tool):
    proc = run_tool(
        TOOL, tmp_path / 'missing.pt', tmp_path / 'x.pth', check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith('missing.pt: no such file')
    assert 'clip_to_mm.py: error:' in proc.stderr
