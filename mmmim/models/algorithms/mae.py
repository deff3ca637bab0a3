# Copyright (c) mmmim contributors. All rights reserved.
"""Masked Autoencoders (He et al., 2021)."""

from typing import Dict, Optional

import torch

from mmmim.registry import MODELS

from .base import BaseMIM
from .geometry import check_mae_geometry, raise_if_any

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

    def check_geometry(self) -> None:
        """The decoder's tokens, width and the head's patches are the
        encoder's (also for ConvMAE)."""
        problems = check_mae_geometry(self.backbone, self.neck, self.head)
        raise_if_any(problems, type(self).__name__)

    def reconstruct(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """As :meth:`BaseMIM.reconstruct`; with a token head ``pred`` are
        logits ``[B, L, V]`` and ``target`` token ids ``[B, L]``."""
        latent, mask = self.backbone(inputs, mask)
        pred = self.neck(latent, mask)
        target = self.head.target(inputs)
        loss = self.head.loss_from_target(pred, target, mask)
        return dict(pred=pred, target=target, mask=mask, loss=loss)
