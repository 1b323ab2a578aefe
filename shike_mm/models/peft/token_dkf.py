"""Depth-wise Knowledge Fusion (DKF) for experts that end in a class
token."""
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn

from .adaptformer import LEARNABLE, AdaptFormer


class TokenDKF(nn.Module):
    """SHIKE's depth-wise knowledge fusion for transformer experts.

    SHIKE fuses each expert's deep map with a shallow map of another depth,
    ``GAP(deep_m * aligner_m(shallow_{d_m}))``, where the aligner (stride-2
    convs and BN) brings the shallow map to the deep map's shape. Here the
    features are class tokens, which have no resolution to align and are
    already pooled (by attention), so the aligner becomes a learned map of
    the trunk's class token at the expert's depth into a gate over the deep
    token's channels::

        feat_m = deep_m * (1 + A_m(shallow_{m mod S}))

    with ``A_m`` an AdaptFormer branch ``s * up(ReLU(down(LN(x))))`` (its
    LayerNorm does BN's job of putting the shallow state on a common
    scale), and the ``S`` shallow tokens taken shallowest first and cycled
    over the experts, as the SHIKE code cycles its experts over the shallow
    stages. ``up`` starts at zero, so every gate starts at exactly 1 and the
    fused model starts as the one without fusion, as ``DKFNeck(
    identity_fusion_init=True)`` starts its aligners at 1.

    Args:
        embed_dims (int): Width ``D`` of the class tokens.
        num_experts (int): Number of experts ``M``.
        shallow_depths (Sequence[int]): The depths of the ``S`` shallow
            tokens, shallowest first (for the record; the model that owns
            this module takes the tokens there).
        bottleneck_dims (int): Width of the gates' bottleneck.
        scale (float | str): ``'learnable'`` (starting at 1) or a fixed
            scale ``s`` of every gate. Defaults to ``'learnable'``.

    Inputs:
        shallow (Sequence[Tensor]): ``S`` shallow class tokens ``[B, D]``.
        deep (Sequence[Tensor]): ``M`` experts' class tokens ``[B, D]``.

    Returns:
        tuple[Tensor]: ``M`` fused features ``[B, D]``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_experts: int,
                 shallow_depths: Sequence[int],
                 bottleneck_dims: int,
                 scale: Union[float, str] = LEARNABLE):
        super().__init__()
        self.shallow_depths = tuple(shallow_depths)
        if not self.shallow_depths:
            raise ValueError('TokenDKF needs at least one shallow depth')
        self.gates = nn.ModuleList([
            AdaptFormer(embed_dims, bottleneck_dims, scale)
            for _ in range(num_experts)
        ])

    def source_of(self, expert: int) -> int:
        """Depth of the shallow token that ``expert`` fuses."""
        return self.shallow_depths[expert % len(self.shallow_depths)]

    def forward(self, shallow: Sequence[torch.Tensor],
                deep: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        if len(shallow) != len(self.shallow_depths) or len(deep) != len(
                self.gates):
            raise ValueError(f'TokenDKF fuses {len(self.gates)} experts with '
                             f'{len(self.shallow_depths)} shallow tokens, got '
                             f'{len(deep)} and {len(shallow)}')
        return tuple(feat * (1 + gate(shallow[m % len(shallow)]))
                     for m, (feat, gate) in enumerate(zip(deep, self.gates)))

    def extra_repr(self) -> str:
        return f'shallow_depths={self.shallow_depths}'
