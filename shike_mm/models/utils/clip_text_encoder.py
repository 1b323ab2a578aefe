"""CLIP's text tower, for initialising classifiers from class names."""
from collections import OrderedDict
from typing import Mapping

import torch
import torch.nn as nn
from mmpretrain.models.utils.clip_generator_helper import QuickGELU

#: Activations of CLIP MLPs: OpenAI's models use QuickGELU, most open_clip
#: models GELU.
ACTIVATIONS = ('quick_gelu', 'gelu')
#: OpenAI's rule for the number of attention heads.
HEAD_WIDTH = 64


class CLIPTextBlock(nn.Module):
    """A pre-norm transformer block with causal self-attention; its
    parameters are named as in CLIP's checkpoints (``ln_1``, ``attn``,
    ``ln_2``, ``mlp.c_fc``, ``mlp.c_proj``).

    Args:
        width (int): Token width ``D``.
        num_heads (int): Attention heads.
        act (str): ``'quick_gelu'`` or ``'gelu'``.
        ln_eps (float): LayerNorm epsilon.
    """

    def __init__(self, width: int, num_heads: int, act: str, ln_eps: float):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width, eps=ln_eps)
        self.attn = nn.MultiheadAttention(width, num_heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width, eps=ln_eps)
        self.mlp = nn.Sequential(
            OrderedDict([
                ('c_fc', nn.Linear(width, 4 * width)),
                ('gelu', QuickGELU() if act == 'quick_gelu' else nn.GELU()),
                ('c_proj', nn.Linear(4 * width, width)),
            ]))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class CLIPTextEncoder(nn.Module):
    """CLIP's text tower: token and position embeddings, causal transformer
    blocks, a final LayerNorm, the features of the end-of-text token (the
    highest token id of each sequence) and the text projection.

    Computed in the dtype of the weights (CLIP's own code computes its
    LayerNorms in float32 for half-precision weights; in float32 and
    float64 the two agree).

    Args:
        vocab_size (int): Token vocabulary size.
        context_length (int): Tokens per text.
        width (int): Token width ``D``.
        num_layers (int): Transformer blocks.
        num_heads (int): Attention heads.
        embed_dim (int): Width of the joint image-text space ``E``.
        act (str): MLP activation, ``'quick_gelu'`` (OpenAI) or
            ``'gelu'``. Defaults to ``'quick_gelu'``.
        ln_eps (float): LayerNorm epsilon. Defaults to 1e-5.

    Inputs:
        tokens (Tensor): ``[N, context_length]`` token ids.

    Returns:
        Tensor: ``[N, E]`` text features (not normalised).
    """

    def __init__(self,
                 vocab_size: int,
                 context_length: int,
                 width: int,
                 num_layers: int,
                 num_heads: int,
                 embed_dim: int,
                 act: str = 'quick_gelu',
                 ln_eps: float = 1e-5):
        super().__init__()
        if act not in ACTIVATIONS:
            raise ValueError(f'CLIPTextEncoder.act must be one of '
                             f'{ACTIVATIONS}, got {act!r}')
        self.context_length = context_length
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(
            torch.zeros(context_length, width))
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.ModuleList([
            CLIPTextBlock(width, num_heads, act, ln_eps)
            for _ in range(num_layers)
        ])
        self.ln_final = nn.LayerNorm(width, eps=ln_eps)
        self.text_projection = nn.Parameter(torch.zeros(width, embed_dim))

    @classmethod
    def from_state_dict(cls,
                        state_dict: Mapping[str, torch.Tensor],
                        act: str = 'quick_gelu',
                        ln_eps: float = 1e-5) -> 'CLIPTextEncoder':
        """Build the tower that fits ``state_dict`` (CLIP's text keys,
        without prefix) and load it strictly, in float32.

        The number of heads follows OpenAI's rule, width / 64.
        """
        try:
            vocab_size, width = state_dict['token_embedding.weight'].shape
            context_length = state_dict['positional_embedding'].shape[0]
            embed_dim = state_dict['text_projection'].shape[1]
        except KeyError as error:
            raise KeyError(f'Not the weights of a CLIP text tower: no '
                           f'{error}') from None
        num_layers = len({
            key.split('.')[2]
            for key in state_dict if key.startswith('transformer.resblocks.')
        })
        if width % HEAD_WIDTH:
            raise ValueError(f'CLIP text width {width} is not a multiple of '
                             f'{HEAD_WIDTH}, the width of its heads')
        encoder = cls(vocab_size, context_length, width, num_layers,
                      width // HEAD_WIDTH, embed_dim, act, ln_eps)
        encoder.load_state_dict({
            k: v.float()
            for k, v in state_dict.items()
        },
                                strict=True)
        return encoder

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(tokens) + self.positional_embedding
        length = tokens.shape[1]
        mask = torch.full((length, length),
                          float('-inf'),
                          dtype=x.dtype,
                          device=x.device).triu(1)
        for block in self.transformer.resblocks:
            x = block(x, mask)
        x = self.ln_final(x)
        eot = x[torch.arange(x.shape[0], device=x.device),
                tokens.argmax(dim=-1)]
        return eot @ self.text_projection
