# Copyright (c) mmmim contributors. All rights reserved.
"""Reconstruction losses on the masked tokens only."""

import torch
import torch.nn.functional as F

__all__ = [
    'masked_mean',
    'masked_mse_loss',
    'masked_cross_entropy',
    'masked_l1_loss',
]


def masked_mean(loss: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average a per-token loss over the masked tokens.

    Args:
        loss (torch.Tensor): Per-token loss ``[B, L]``.
        mask (torch.Tensor): Bool ``[B, L]``, True = masked.

    Returns:
        torch.Tensor: The scalar ``sum(loss * mask) / sum(mask)``.
    """
    weight = mask.to(loss.dtype)
    return (loss * weight).sum() / weight.sum()


def masked_mse_loss(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """MAE's loss: per-patch mean squared error, averaged over masked ones.

    Args:
        pred (torch.Tensor): Predictions ``[B, L, P]``.
        target (torch.Tensor): Targets ``[B, L, P]``.
        mask (torch.Tensor): Bool ``[B, L]``, True = masked.

    Returns:
        torch.Tensor: The scalar loss.
    """
    per_patch = (pred.float() - target.float()).pow(2).mean(dim=-1)
    return masked_mean(per_patch, mask)


def masked_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Token classification loss averaged over masked tokens.

    Args:
        logits (torch.Tensor): Scores ``[B, L, V]``.
        target (torch.Tensor): Token ids ``[B, L]`` in ``[0, V)``.
        mask (torch.Tensor): Bool ``[B, L]``, True = masked.

    Returns:
        torch.Tensor: The scalar loss.
    """
    # cross_entropy wants the class axis second: [B, V, L].
    per_token = F.cross_entropy(
        logits.float().transpose(1, 2), target, reduction='none'
    )
    return masked_mean(per_token, mask)


def masked_l1_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    in_channels: int = 3,
    eps: float = 0.0,
) -> torch.Tensor:
    """Mean absolute error over the masked pixels, divided by the channels.

    In patch space this is SimMIM's
    ``(|x - x_rec| * m).sum() / (m.sum() + eps) / in_channels`` with ``m``
    the mask upsampled to a one-channel pixel mask: the absolute errors of
    all channels of the masked pixels are summed and divided by the number
    of masked *pixels* (not values) and by the channel count.

    Args:
        pred (torch.Tensor): Predictions ``[B, L, p * p * C]``.
        target (torch.Tensor): Targets ``[B, L, p * p * C]``.
        mask (torch.Tensor): Bool ``[B, L]``, True = masked.
        in_channels (int): ``C``. Defaults to 3.
        eps (float): Added to the masked pixel count (the official code
            adds 1e-5). Defaults to 0.

    Returns:
        torch.Tensor: The scalar loss.
    """
    pixels_per_token = pred.shape[-1] // in_channels
    weight = mask.to(torch.float32).unsqueeze(-1)
    error = (pred.float() - target.float()).abs()
    num_pixels = weight.sum() * pixels_per_token
    return (error * weight).sum() / (num_pixels + eps) / in_channels
