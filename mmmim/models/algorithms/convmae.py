# Copyright (c) mmmim contributors. All rights reserved.
"""ConvMAE: Masked Convolution Meets Masked Autoencoders (Gao et al., 2022)."""

from mmmim.registry import MODELS

from .mae import MAE

__all__ = ['ConvMAE']


@MODELS.register_module()
class ConvMAE(MAE):
    """ConvMAE: MAE with a hybrid conv-transformer encoder.

    The composition is MAE's: ``backbone`` is
    :class:`~mmmim.models.ConvMAEViT` (masks drawn on the stage-3 grid,
    masked convolutions in stages 1-2, visible tokens only in stage 3)
    returning ``(latent, mask)``; ``neck`` is
    :class:`~mmmim.models.ConvMAEDecoder` predicting every 16 x 16 patch;
    ``head`` is :class:`~mmmim.models.PixelReconstructionHead` with the
    total patch size (MAE's loss on masked patches, norm-pix target).
    """
