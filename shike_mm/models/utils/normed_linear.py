"""Cosine (normalised) linear layer."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class NormedLinear(nn.Module):
    """Cosine similarity between the input and each class weight vector.

    ``out = normalize(x) @ normalize(W).T``, so every output lies in
    ``[-1, 1]``; there is no bias and no scale (the caller scales). The
    weight is stored ``[out_features, in_features]`` like ``nn.Linear``; the
    SHIKE code stores the transpose, ``[in_features, out_features]``.
    Initialisation follows SHIKE: uniform(-1, 1), then every class vector
    rescaled to unit norm.

    Args:
        in_features (int): Input size D.
        out_features (int): Output size C.

    Inputs:
        x (Tensor): ``[B, D]``.

    Returns:
        Tensor: ``[B, C]`` cosine similarities.
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.weight.uniform_(-1, 1)
            self.weight.div_(self.weight.norm(dim=1, keepdim=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(F.normalize(x, dim=1), F.normalize(self.weight, dim=1))

    def extra_repr(self) -> str:
        return f'in_features={self.in_features}, ' \
            f'out_features={self.out_features}'
