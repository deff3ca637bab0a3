# Copyright (c) mmmim contributors. All rights reserved.
"""SimMIM (Xie et al., 2021)."""

from typing import Dict, Optional

import torch

from mmmim.registry import MODELS

from ..mask_generators.global_batch import draw_global_batch_mask
from ..utils import patchify
from .base import BaseMIM

__all__ = ['SimMIM']


@MODELS.register_module()
class SimMIM(BaseMIM):
    """SimMIM: encode all patches with a mask token, predict pixels.

    ``backbone`` is an encoder with a mask token returning feature maps
    (``SimMIMViT``, ``SimMIMSwin``), ``neck`` a decoder back to pixels
    (``SimMIMLinearDecoder``), ``head`` the target and L1 loss on masked
    pixels (``SimMIMReconstructionHead``). Masks normally come from the
    data pipeline (``GenerateMask`` with a ``SimMIMMaskGenerator``); without
    one the backbone's ``mask_generator`` draws them. Arguments as
    :class:`BaseMIM`.
    """

    def reconstruct(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """Reconstruct masked inputs.

        The result is deterministic given the weights and ``mask`` (in eval
        mode, or without drop path).

        Args:
            inputs (torch.Tensor): Normalised images ``[B, C, H, W]``,
                ``H`` and ``W`` divisible by the decoder's encoder stride.
            mask (torch.Tensor, optional): Bool ``[B, L]`` on the token grid
                of the head's patch size, True = masked. Defaults to None
                (drawn by the backbone's ``mask_generator``).

        Returns:
            dict: ``pred`` and ``target`` ``[B, L, p * p * C]`` (pixels of
            every token, in the normalised input space), the ``mask``
            ``[B, L]`` used and the scalar ``loss``.
        """
        self._check_size(inputs)
        if mask is None:
            mask = self._draw_mask(inputs)
        feats = self.backbone(inputs, mask)
        pixels = self.neck(feats)
        if pixels.shape != inputs.shape:
            raise ValueError(
                f'the decoder predicts {tuple(pixels.shape)} for inputs '
                f'{tuple(inputs.shape)}; set neck.encoder_stride to the '
                "backbone's total stride"
            )
        pred = patchify(pixels, self.head.patch_size)
        target = self.head.target(inputs)
        loss = self.head.loss_from_target(pred, target, mask)
        return dict(pred=pred, target=target, mask=mask, loss=loss)

    def _check_size(self, inputs: torch.Tensor) -> None:
        """Images must tile into the decoder's output cells."""
        stride = self.neck.encoder_stride
        h, w = inputs.shape[-2:]
        if h % stride or w % stride:
            raise ValueError(
                f'input size {h}x{w} is not divisible by the encoder stride '
                f'{stride} (the decoder predicts {stride}x{stride}-pixel '
                f'cells); resize or crop the images to a multiple of '
                f'{stride}'
            )

    def _draw_mask(self, inputs: torch.Tensor) -> torch.Tensor:
        """A mask from the backbone's generator, on the head's token grid."""
        generator = self.backbone.mask_generator
        if generator is None:
            raise ValueError(
                'SimMIM needs a mask: add GenerateMask to the data pipeline '
                "(packed with PackInputs(algorithm_keys=['mask'])), pass "
                'one to reconstruct(), or give the backbone a mask_generator'
            )
        p = self.head.patch_size
        grid = (inputs.shape[-2] // p, inputs.shape[-1] // p)
        return draw_global_batch_mask(
            generator, inputs.shape[0], grid, device=inputs.device
        )
