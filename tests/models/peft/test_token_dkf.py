"""TokenDKF: each expert's class token gated by a shallow class token,
the depths cycled over the experts; the gates start at exactly 1."""
import pytest
import torch
import torch.nn.functional as F

from shike_mm.models.peft import TokenDKF

DIMS, BATCH = 6, 4


def _gate(x, gate):
    """``1 + s * up(ReLU(down(LN(x))))``, written out."""
    normed = F.layer_norm(x, (DIMS, ), gate.ln.weight, gate.ln.bias, 1e-5)
    hidden = torch.relu(normed @ gate.down.weight.T + gate.down.bias)
    return 1 + gate.scale * (hidden @ gate.up.weight.T + gate.up.bias)


def _tokens(count, seed):
    generator = torch.Generator().manual_seed(seed)
    return [
        torch.randn(BATCH, DIMS, generator=generator, dtype=torch.float64)
        for _ in range(count)
    ]


def test_experts_cycle_over_the_depths_shallowest_first():
    torch.manual_seed(0)
    fusion = TokenDKF(DIMS, 4, (3, 6, 9), bottleneck_dims=2).double()
    assert [fusion.source_of(m) for m in range(4)] == [3, 6, 9, 3]
    deep, shallow = _tokens(4, 0), _tokens(3, 1)
    # the gates start at 1: the fused model starts as the unfused one
    for fused, feat in zip(fusion(shallow, deep), deep):
        assert torch.equal(fused, feat)
    with torch.no_grad():
        for gate in fusion.gates:
            gate.up.weight.normal_()
            gate.up.bias.normal_()
    fused = fusion(shallow, deep)
    for m, source in enumerate([0, 1, 2, 0]):
        torch.testing.assert_close(
            fused[m], deep[m] * _gate(shallow[source], fusion.gates[m]))


def test_counts_must_match():
    fusion = TokenDKF(DIMS, 2, (1, ), bottleneck_dims=2)
    with pytest.raises(
            ValueError,
            match='fuses 2 experts with 1 shallow '
            'tokens, got 3 and 1'):
        fusion(_tokens(1, 0), _tokens(3, 1))
    with pytest.raises(ValueError, match='at least one shallow depth'):
        TokenDKF(DIMS, 2, (), bottleneck_dims=2)
