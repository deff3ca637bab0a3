# Copyright (c) mmmim contributors. All rights reserved.
"""SimMIM (Xie et al., 2021)."""

from typing import Dict, Optional

import torch

from mmmim.registry import MODELS

from ..mask_generators.global_batch import draw_global_batch_mask
from ..utils import patchify
from .base import BaseMIM
from .geometry import check_simmim_geometry, raise_if_any

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

    def check_geometry(self) -> None:
        """The decoder upsamples by the encoder's output stride."""
        problems = check_simmim_geometry(self.backbone, self.neck)
        raise_if_any(problems, 'SimMIM')

    def reconstruct(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """As :meth:`BaseMIM.reconstruct`: ``H`` and ``W`` of ``inputs``
        divisible by the decoder's ``encoder_stride``, ``mask`` on the token
        grid of the head's ``patch_size`` (None: drawn by the backbone's
        ``mask_generator``), ``pred`` and ``target`` the pixels of every
        token ``[B, L, p * p * C]`` in the normalised input space."""
        mask = self._mask_for(inputs, mask)
        pixels = self.neck(self.backbone(inputs, mask))
        pred = patchify(pixels, self.head.patch_size)
        target = self.head.target(inputs)
        loss = self.head.loss_from_target(pred, target, mask)
        return dict(pred=pred, target=target, mask=mask, loss=loss)

    def _mask_for(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """Check that the images tile into the decoder's output cells; the
        given mask, or one from the backbone's generator."""
        stride = self.neck.encoder_stride
        h, w = inputs.shape[-2:]
        if h % stride or w % stride:
            raise ValueError(
                f'input size {h}x{w} is not divisible by the encoder stride '
                f'{stride} (the decoder predicts {stride}x{stride}-pixel '
                f'cells); resize or crop the images to a multiple of '
                f'{stride}'
            )
        if mask is not None:
            return mask
        if self.backbone.mask_generator is None:
            raise ValueError(
                'SimMIM needs a mask: add GenerateMask to the data pipeline '
                "(packed with PackInputs(algorithm_keys=['mask'])), pass "
                'one to reconstruct(), or give the backbone a mask_generator'
            )
        p = self.head.patch_size
        return draw_global_batch_mask(
            self.backbone.mask_generator,
            inputs.shape[0],
            (h // p, w // p),
            device=inputs.device,
        )
