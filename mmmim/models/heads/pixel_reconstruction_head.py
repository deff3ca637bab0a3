# Copyright (c) mmmim contributors. All rights reserved.
"""Pixel reconstruction target and loss (MAE)."""

from typing import Optional, Union

import torch

from mmmim.registry import MODELS

from ..losses import masked_mse_loss
from .base_reconstruction_head import BaseReconstructionHead

__all__ = ['PixelReconstructionHead']


@MODELS.register_module()
class PixelReconstructionHead(BaseReconstructionHead):
    """Targets in patch space and the MAE loss on masked patches.

    The target is the (already normalised) input image in patch space,
    optionally normalised per patch (``norm_pix``, the paper's default):
    ``(t - mean) / sqrt(var + eps)`` over the ``p * p * C`` values of each
    patch with the *unbiased* variance, as the official ``torch.var``.

    Args:
        patch_size (int): Patch side ``p``. Defaults to 16.
        norm_pix (bool): Normalise each target patch. Defaults to True.
        norm_pix_eps (float): Added to the variance. Defaults to 1e-6.
        init_cfg (dict | list, optional): Init config. Defaults to None.
    """

    def __init__(
        self,
        patch_size: int = 16,
        norm_pix: bool = True,
        norm_pix_eps: float = 1e-6,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(patch_size, init_cfg)
        self.norm_pix = norm_pix
        self.norm_pix_eps = norm_pix_eps

    def target(self, imgs: torch.Tensor) -> torch.Tensor:
        """Patches ``[B, L, p * p * C]`` of images ``[B, C, H, W]``,
        normalised per patch when ``norm_pix``."""
        target = super().target(imgs)
        if self.norm_pix:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True, unbiased=True)
            target = (target - mean) / (var + self.norm_pix_eps) ** 0.5
        return target

    def loss_from_target(
        self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Per-patch MSE averaged over the masked patches, ``pred`` and
        ``target`` ``[B, L, P]``, ``mask`` bool ``[B, L]``."""
        self.check_pair(pred, target, mask)
        return masked_mse_loss(pred, target, mask)
