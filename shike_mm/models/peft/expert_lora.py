"""SHIKE's experts as LoRA sets on one frozen transformer: a shared trunk
with MMPretrain's LoRA, and experts that own the LoRA of the last blocks."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmpretrain.models.peft.lora import LoRALinear
from mmpretrain.registry import MODELS

from .experts import ExpertsMixin, FanOut, split_streams, vision_transformer
from .pretrained_base import PretrainedBase
from .wrapped_module import WrappedModule


class ExpertLoRALinear(nn.Module):
    """One frozen linear layer on the stacked streams of ``M`` experts, each
    with its own low-rank update (MMPretrain's ``LoRALinear``, all around
    the same frozen layer): rows ``m * B .. (m + 1) * B - 1`` get
    ``W x + (alpha / r) B_m A_m x``.

    Args:
        loras (Sequence[LoRALinear]): The ``M`` experts' LoRA layers, all
            of one ``original_layer``.

    Inputs:
        x (Tensor): ``[M * B, ..., in_features]``.

    Returns:
        Tensor: ``[M * B, ..., out_features]``.
    """

    def __init__(self, loras: Sequence[LoRALinear]):
        super().__init__()
        if not loras or any(lora.original_layer is not loras[0].original_layer
                            for lora in loras):
            raise ValueError('ExpertLoRALinear needs one LoRALinear per '
                             'expert, all around the same frozen layer')
        self.loras = nn.ModuleList(loras)

    @property
    def num_experts(self) -> int:
        return len(self.loras)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.num_experts == 1:
            return self.loras[0](x)
        return torch.cat([
            lora(stream) for lora, stream in zip(
                self.loras, split_streams(x, self.num_experts))
        ])

    def extra_repr(self) -> str:
        return f'num_experts={self.num_experts}'


@MODELS.register_module()
class ExpertLoRAModel(ExpertsMixin, WrappedModule):
    """SHIKE's experts on a frozen Vision Transformer, as LoRA sets: the
    LoRA counterpart of :class:`ExpertAdaptFormerModel`.

    The target linear layers of the first ``L - k`` blocks get one LoRA
    update each, as MMPretrain's ``LoRAModel`` gives them (its
    ``LoRALinear``: ``W x + (alpha / r) B A x``, ``A`` Kaiming uniform,
    ``B`` zero); in the last ``k`` blocks every expert has its own
    (:class:`ExpertLoRALinear`) and runs the blocks on its own residual
    stream. With ``M = 1`` the model is ``LoRAModel`` on the same layers,
    drawing its initial weights in the same order. Everything else is
    frozen when the model is built.

    Args:
        module (dict): Config of the transformer, as for
            :class:`ExpertAdaptFormerModel`; a ``PretrainedBase`` must be
            frozen.
        num_experts (int): Number of experts ``M``. Defaults to 3.
        expert_layers (int): Number of last blocks ``k`` the experts own.
            Defaults to 2.
        fusion (dict, optional): Depth-wise knowledge fusion, as for
            :class:`ExpertAdaptFormerModel`; the gates' width defaults to
            ``rank``. Defaults to None (off).
        rank (int): Rank ``r`` of every update. Defaults to 32.
        alpha (float): Scale ``alpha`` of every update. Defaults to 1.
        drop_rate (float): Dropout on the updates' input. Defaults to 0.
        targets (Sequence[str]): Names of the linear layers inside each
            block that get updates. Defaults to ``('attn.qkv', )``, the
            packed q, k and v projection, as LIFT's LoRA variant config.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Inputs:
        x (Tensor): ``[B, 3, H, W]`` images.

    Returns:
        tuple[Tensor]: The ``M`` experts' features ``[B, D]``.
    """

    peft_name = 'LoRA updates'

    def __init__(self,
                 module: dict,
                 num_experts: int = 3,
                 expert_layers: int = 2,
                 fusion: Optional[dict] = None,
                 rank: int = 32,
                 alpha: float = 1,
                 drop_rate: float = 0.,
                 targets: Sequence[str] = ('attn.qkv', ),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        module = MODELS.build(module)
        if isinstance(module, PretrainedBase) and not module.frozen:
            raise ValueError(
                'ExpertLoRAModel trains only its updates, but its module is '
                'PretrainedBase(frozen=False), whose weights would then be '
                'saved in every checkpoint; set frozen=True')
        if not getattr(module, 'is_init', True):
            module.init_weights()
        for param in module.parameters():
            param.requires_grad_(False)
        self.module = module
        vit = vision_transformer(module)
        first_expert_layer = self._check_experts(vit, num_experts,
                                                 expert_layers)
        if not targets:
            raise ValueError('ExpertLoRAModel needs targets, the names of '
                             'the linear layers to update')
        self.rank = rank
        for index, layer in enumerate(vit.layers):
            for target in targets:
                parent_name, _, name = target.rpartition('.')
                parent = layer.get_submodule(parent_name)
                linear = getattr(parent, name, None)
                if not isinstance(linear, nn.Linear):
                    raise TypeError(
                        f'ExpertLoRAModel.targets: {target!r} of block '
                        f'{index} is {type(linear).__name__}, not a Linear')
                loras = [
                    LoRALinear(linear, alpha, rank, drop_rate) for _ in range(
                        num_experts if index >= first_expert_layer else 1)
                ]
                setattr(
                    parent, name, loras[0]
                    if index < first_expert_layer else ExpertLoRALinear(loras))
        vit.layers[first_expert_layer] = FanOut(vit.layers[first_expert_layer],
                                                num_experts)
        self._finish_experts(vit, fusion, rank, 'learnable')
