"""A tiny CLIP in the OpenAI layout, saved as a TorchScript archive like
OpenAI's ``ViT-B-16.pt``, for tests of the CLIP tools."""
import warnings
from collections import OrderedDict

import torch
import torch.nn as nn

#: CLIP's vocabulary size and context length (the tokenizer's).
VOCAB_SIZE = 49408
CONTEXT_LENGTH = 77


class QuickGELU(nn.Module):
    """``x * sigmoid(1.702 x)``, named as OpenAI's class."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict([('c_fc', nn.Linear(width, 4 * width)),
                         ('gelu', QuickGELU()),
                         ('c_proj', nn.Linear(4 * width, width))]))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):

    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.resblocks = nn.Sequential(
            *[ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resblocks(x)


class VisionTransformer(nn.Module):

    def __init__(self, image_size, patch_size, width, layers, heads,
                 embed_dim):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch_size, patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width))
        grid = image_size // patch_size
        self.positional_embedding = nn.Parameter(
            torch.randn(grid * grid + 1, width) * 0.1)
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, embed_dim) * width**-0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x).flatten(2).permute(2, 0, 1)
        cls = self.class_embedding.reshape(1, 1,
                                           -1).expand(1, x.shape[1],
                                                      x.shape[2])
        x = torch.cat([cls, x]) + self.positional_embedding.unsqueeze(1)
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[0]) @ self.proj


class CLIP(nn.Module):
    """Both towers and the logit scale, with OpenAI's parameter names."""

    def __init__(self,
                 image_size=32,
                 patch_size=8,
                 width=64,
                 layers=2,
                 text_width=64,
                 text_layers=2,
                 embed_dim=32):
        super().__init__()
        self.visual = VisionTransformer(image_size, patch_size, width, layers,
                                        width // 64, embed_dim)
        self.transformer = Transformer(text_width, text_layers,
                                       text_width // 64)
        self.token_embedding = nn.Embedding(VOCAB_SIZE, text_width)
        self.positional_embedding = nn.Parameter(
            torch.randn(CONTEXT_LENGTH, text_width) * 0.01)
        self.ln_final = nn.LayerNorm(text_width)
        self.text_projection = nn.Parameter(
            torch.randn(text_width, embed_dim) * text_width**-0.5)
        self.logit_scale = nn.Parameter(torch.tensor(4.6052))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.visual(image)


def write_fake_clip_archive(path: str, seed: int = 0, **arch) -> dict:
    """Save a random tiny CLIP (fp16 weights, random LayerNorms) as a
    TorchScript archive, as OpenAI ships its models.

    Args:
        path (str): The archive to write.
        seed (int): Seed of the weights. Defaults to 0.
        **arch: :class:`CLIP` sizes (``image_size``, ``patch_size``,
            ``width``, ``layers``, ``text_width``, ``text_layers``,
            ``embed_dim``); widths must be multiples of 64 (one head per
            64 channels, OpenAI's rule).

    Returns:
        dict: The state dict written, in OpenAI's key names.
    """
    torch.manual_seed(seed)
    model = CLIP(**arch)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(('ln_1.weight', 'ln_2.weight', 'ln_pre.weight',
                              'ln_post.weight', 'ln_final.weight')):
                param.normal_(1.0, 0.1)
            elif name.endswith('bias'):
                param.normal_(0.0, 0.1)
    model = model.half().eval()
    with warnings.catch_warnings():
        # torch >= 2.5 deprecates TorchScript; OpenAI's archives are such.
        warnings.simplefilter('ignore', FutureWarning)
        torch.jit.script(model).save(path)
    return model.state_dict()
