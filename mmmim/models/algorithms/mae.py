# Copyright (c) mmmim contributors. All rights reserved.
"""Masked Autoencoders (He et al., 2021)."""

from typing import Dict, Optional

import torch

from mmmim.registry import MODELS

from .base import BaseMIM

__all__ = ['MAE']


@MODELS.register_module()
class MAE(BaseMIM):
    """Masked Autoencoder: encode visible patches, decode all, score masked.

    ``backbone`` is an encoder such as ``MAEViT`` returning
    ``(latent, mask)``, ``neck`` a decoder such as ``MAEDecoder``
    predicting every patch, ``head`` a target and loss such as
    ``PixelReconstructionHead`` (pixels, optionally normalised per patch)
    or ``TokenReconstructionHead`` (dVAE tokens). Arguments as
    :class:`BaseMIM`.
    """

    def reconstruct(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """Reconstruct masked inputs.

        The result is deterministic given the weights and ``mask`` (in eval
        mode, or without drop path).

        Args:
            inputs (torch.Tensor): Normalised images ``[B, C, H, W]``.
            mask (torch.Tensor, optional): Bool ``[B, L]``, True = masked.
                Defaults to None (drawn by the backbone).

        Returns:
            dict: ``pred`` ``[B, L, P]`` (for a token head, logits
            ``[B, L, V]``), ``target`` (``[B, L, P]``, or token ids
            ``[B, L]``), the ``mask`` ``[B, L]`` used and the scalar
            ``loss``.
        """
        latent, mask = self.backbone(inputs, mask)
        pred = self.neck(latent, mask)
        target = self.head.target(inputs)
        loss = self.head.loss_from_target(pred, target, mask)
        return dict(pred=pred, target=target, mask=mask, loss=loss)
