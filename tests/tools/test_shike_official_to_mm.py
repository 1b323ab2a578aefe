"""tools/model_converters/shike_official_to_mm.py on synthetic checkpoints
in the layout of the official SHIKE code (spec 1.1-2)."""
import copy
import fractions

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS

from shike_mm.utils import find_config, load_local_checkpoint

TOOL = 'model_converters/shike_official_to_mm.py'
NUM_CLASSES = 10

# ---------------------------------------------------------------------------
# The official layout and a plain-functional forward of it (spec 1.1-2).


def _add_conv(state, name, out_ch, in_ch, kernel, generator):
    fan_in = in_ch * kernel * kernel
    state[name] = torch.randn(
        out_ch, in_ch, kernel, kernel, generator=generator) * (2 / fan_in)**0.5


def _add_bn(state, name, channels, generator):
    state[f'{name}.weight'] = 1 + 0.2 * torch.randn(
        channels, generator=generator)
    state[f'{name}.bias'] = 0.1 * torch.randn(channels, generator=generator)
    state[f'{name}.running_mean'] = 0.1 * torch.randn(
        channels, generator=generator)
    state[f'{name}.running_var'] = 0.5 + torch.rand(
        channels, generator=generator)
    state[f'{name}.num_batches_tracked'] = torch.tensor(100)


def _add_stage(state, name, num_blocks, in_ch, out_ch, stride, generator):
    for i in range(num_blocks):
        block = f'{name}.{i}'
        block_in = in_ch if i == 0 else out_ch
        _add_conv(state, f'{block}.conv1.weight', out_ch, block_in, 3,
                  generator)
        _add_bn(state, f'{block}.bn1', out_ch, generator)
        _add_conv(state, f'{block}.conv2.weight', out_ch, out_ch, 3, generator)
        _add_bn(state, f'{block}.bn2', out_ch, generator)
        if i == 0 and (stride != 1 or block_in != out_ch):
            _add_conv(state, f'{block}.shortcut.0.weight', out_ch, block_in, 1,
                      generator)
            _add_bn(state, f'{block}.shortcut.1', out_ch, generator)


def official_state_dict(num_blocks=5, num_experts=3, seed=0):
    """ResNet_MoE(BasicBlock, [n, n, n]) weights with official names."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    _add_conv(state, 'conv1.weight', 16, 3, 3, generator)
    _add_bn(state, 'bn1', 16, generator)
    _add_stage(state, 'layer1', num_blocks, 16, 16, 1, generator)
    _add_stage(state, 'layer2', num_blocks, 16, 32, 2, generator)
    for m in range(num_experts):
        _add_stage(state, f'layer3s.{m}', num_blocks, 32, 64, 2, generator)
    for m in range(num_experts):
        for name in ('classifiers', 'rt_classifiers'):
            state[f'{name}.{m}.weight'] = F.normalize(
                torch.rand(64, NUM_CLASSES, generator=generator) * 2 - 1,
                dim=0)
    for m in range(num_experts):
        depth = 2 if m % 2 == 0 else 1  # aligner convs for layer1 / layer2
        channels = 16 if depth == 2 else 32
        for k in range(depth):
            conv = f'shallow_exps.{m}.convs.StridedConv{k}.conv'
            _add_conv(state, f'{conv}.0.weight', channels * 2, channels, 3,
                      generator)
            _add_bn(state, f'{conv}.1', channels * 2, generator)
            channels *= 2
    return state


def _bn(x, state, name):
    return F.batch_norm(x, state[f'{name}.running_mean'],
                        state[f'{name}.running_var'], state[f'{name}.weight'],
                        state[f'{name}.bias'])


def _block(x, state, name, stride):
    out = F.conv2d(x, state[f'{name}.conv1.weight'], stride=stride, padding=1)
    out = F.relu(_bn(out, state, f'{name}.bn1'))
    out = _bn(
        F.conv2d(out, state[f'{name}.conv2.weight'], padding=1), state,
        f'{name}.bn2')
    shortcut = x
    if f'{name}.shortcut.0.weight' in state:
        shortcut = _bn(
            F.conv2d(x, state[f'{name}.shortcut.0.weight'], stride=stride),
            state, f'{name}.shortcut.1')
    return F.relu(out + shortcut)


def _stage(x, state, name, num_blocks, stride):
    for i in range(num_blocks):
        x = _block(x, state, f'{name}.{i}', stride if i == 0 else 1)
    return x


def official_forward(state, x, num_experts, num_blocks, retrained):
    """Per-expert logits [M, B, C] of the official model in eval mode."""
    out = F.relu(
        _bn(F.conv2d(x, state['conv1.weight'], padding=1), state, 'bn1'))
    out1 = _stage(out, state, 'layer1', num_blocks, 1)
    out2 = _stage(out1, state, 'layer2', num_blocks, 2)
    shallow = [out1, out2]
    logits = []
    for m in range(num_experts):
        deep = _stage(out2, state, f'layer3s.{m}', num_blocks, 2)
        aligned = shallow[m % 2]
        for k in range(2 if m % 2 == 0 else 1):
            conv = f'shallow_exps.{m}.convs.StridedConv{k}.conv'
            aligned = _bn(
                F.conv2d(
                    aligned, state[f'{conv}.0.weight'], stride=2, padding=1),
                state, f'{conv}.1')
            if k != 1:
                aligned = F.relu(aligned)
        feat = (deep * aligned).mean(dim=(2, 3))
        weight = state[('rt_classifiers' if retrained else 'classifiers') +
                       f'.{m}.weight']
        logits.append(30 *
                      F.normalize(feat, dim=1) @ F.normalize(weight, dim=0))
    return torch.stack(logits)


# ---------------------------------------------------------------------------


def _shike_model(num_experts, num_blocks=5):
    cfg = copy.deepcopy(
        Config.fromfile(find_config('_base_/models/shike_r32_cifar.py')).model)
    cfg.backbone.depth = 6 * num_blocks + 2
    cfg.neck.num_experts = cfg.head.num_experts = num_experts
    cfg.neck.expert_stage.num_blocks = num_blocks
    cfg.head.num_classes = NUM_CLASSES
    return MODELS.build(cfg)


@pytest.mark.parametrize('num_experts,num_blocks', [(3, 5), (4, 3)])
@pytest.mark.parametrize('stage', [1, 2])
def test_converted_model_reproduces_official_logits(load_tool, tmp_path,
                                                    num_experts, num_blocks,
                                                    stage):
    official = official_state_dict(num_blocks, num_experts)
    src, dst = tmp_path / 'official.pth.tar', tmp_path / 'converted.pth'
    torch.save(
        dict(
            epoch=200 if stage == 2 else 180,
            state_dict={
                f'module.{k}': v
                for k, v in official.items()
            }), src)
    load_tool(TOOL).main([str(src), str(dst)])

    model = _shike_model(num_experts, num_blocks)
    load_checkpoint(model, str(dst), strict=True)
    model.double().eval()
    assert model.head.current_stage == stage
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        logits = model.head.expert_logits(model.extract_feat(x))
    expected = official_forward({
        k: v.double()
        for k, v in official.items()
    },
                                x,
                                num_experts,
                                num_blocks,
                                retrained=stage == 2)
    torch.testing.assert_close(logits, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize('saved,option,stage', [
    (dict(epoch=181), [], 2),
    (dict(epoch=180), [], 1),
    (dict(epoch=200), ['--stage', '1'], 1),
    (dict(epoch=150), ['--switch-epoch', '100'], 2),
    (None, [], 1),
])
def test_stage_defaults_to_2_after_the_switch_epoch(load_tool, tmp_path, saved,
                                                    option, stage):
    official = official_state_dict(num_blocks=3, num_experts=2)
    checkpoint = official if saved is None else dict(
        saved, state_dict=official)
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save(checkpoint, src)
    load_tool(TOOL).main([str(src), str(dst), *option])
    converted = load_local_checkpoint(str(dst))
    assert converted['state_dict']['head.stage'].item() == stage
    assert converted['meta']['stage'] == stage
    assert converted['meta']['num_experts'] == 2


@pytest.mark.parametrize('edit,error', [
    (lambda s: s.update(extra=torch.zeros(1)), 'extra'),
    (lambda s: s.update({'layer1.0.conv3.weight': torch.zeros(1)}),
     'backbone.layer1.0.conv3.weight'),
    (lambda s: s.pop('rt_classifiers.1.weight'),
     'head.retrain_classifiers.1.weight'),
    (lambda s: s.pop('shallow_exps.0.convs.StridedConv1.conv.1.bias'),
     'neck.aligners.0.1.bn.bias'),
])
def test_unknown_or_missing_keys_name_the_file(load_tool, tmp_path, edit,
                                               error):
    official = official_state_dict(num_blocks=3, num_experts=2)
    edit(official)
    src = tmp_path / 'broken.pth'
    torch.save(official, src)
    with pytest.raises(KeyError, match='broken.pth') as info:
        load_tool(TOOL).main([str(src), str(tmp_path / 'out.pth')])
    assert error in str(info.value)


def test_runs_from_a_checkout(tmp_path, run_tool):
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save(official_state_dict(num_blocks=3, num_experts=3), src)
    proc = run_tool(TOOL, src, dst, '--stage', '2', cwd=str(tmp_path))
    assert '3 experts' in proc.stdout and 'stage 2' in proc.stdout
    model = _shike_model(num_experts=3, num_blocks=3)
    load_checkpoint(model, str(dst), strict=True)
    assert model.head.current_stage == 2


def test_untrusted_source_can_be_trusted_explicitly(tmp_path, run_tool):
    """The refusal's advice works for this tool: --trust-checkpoint."""
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    # An official run's checkpoint with a pickled object beside the weights.
    torch.save(
        {
            'state_dict': official_state_dict(num_blocks=3),
            'best_acc': fractions.Fraction(5634, 100)
        }, src)
    refused = run_tool(TOOL, src, dst, cwd=str(tmp_path), check=False)
    assert refused.returncode != 0
    assert 'UntrustedCheckpointError' in refused.stderr
    assert '--trust-checkpoint of tools/train.py, tools/test.py and ' \
        'tools/model_converters/shike_official_to_mm.py' in refused.stderr
    assert not dst.exists()
    run_tool(TOOL, src, dst, '--trust-checkpoint', cwd=str(tmp_path))
    model = _shike_model(num_experts=3, num_blocks=3)
    load_checkpoint(model, str(dst), strict=True)
