# Copyright (c) mmmim contributors. All rights reserved.
"""The ConvMAE decoder."""

from mmmim.registry import MODELS

from .mae_decoder import MAEDecoder

__all__ = ['ConvMAEDecoder']


@MODELS.register_module()
class ConvMAEDecoder(MAEDecoder):
    """MAE's decoder on the stage-3 tokens of ConvMAE (no cls token).

    It embeds the visible tokens, puts a shared learned mask token at every
    masked position (restoring the order with a gather), adds a fixed 2-D
    sin-cos table and predicts every 16 x 16 patch. The parameter names of
    the official ``models_convmae.py`` are MAE's; the official decoder MLP
    width is ``mlp_ratio[0]`` of the encoder, i.e. 4. Arguments as
    :class:`MAEDecoder`, with ``num_patches`` the stage-3 grid and
    ``patch_size`` the total patch side (product of the stage strides).
    """

    num_extra_tokens = 0
