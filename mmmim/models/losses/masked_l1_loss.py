# Copyright (c) mmmim contributors. All rights reserved.
"""SimMIM's L1 loss on the pixels of masked tokens."""

import torch

__all__ = ['masked_l1_loss']


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
