"""Helpers shared by the SHIKE losses."""
import torch

KL_REDUCTIONS = ('mean', 'batchmean')


def upcast_logits(logits: torch.Tensor) -> torch.Tensor:
    """Half-precision logits as float32 (AMP-safe losses); float32 and
    float64 pass unchanged."""
    if logits.dtype in (torch.float16, torch.bfloat16):
        return logits.float()
    return logits


def check_expert_logits(logits: torch.Tensor, target: torch.Tensor) -> None:
    """Check ``logits`` is ``[M, B, C]`` and ``target`` holds ``B`` class
    indices."""
    if logits.dim() != 3:
        raise ValueError('Expected expert logits of shape [M, B, C], got '
                         f'{tuple(logits.shape)}')
    if target.shape != logits.shape[1:2] or target.is_floating_point():
        raise ValueError(
            f'Expected {logits.shape[1]} integer class indices as target, '
            f'got {target.dtype} of shape {tuple(target.shape)}; SHIKE '
            'losses need hard labels')


def reduce_kl(kl_sum: torch.Tensor, batch_size: int, num_classes: int,
              reduction: str) -> torch.Tensor:
    """Divide a KL divergence summed over batch, classes (and expert pairs).

    ``'mean'`` divides by ``B * C`` as ``F.kl_div``'s default in the SHIKE
    code; ``'batchmean'`` divides by ``B``.
    """
    if reduction == 'mean':
        return kl_sum / (batch_size * num_classes)
    return kl_sum / batch_size


def check_reduction(reduction: str) -> None:
    if reduction not in KL_REDUCTIONS:
        raise ValueError(
            f'reduction must be one of {KL_REDUCTIONS}, got {reduction!r}')
