# Copyright (c) mmmim contributors. All rights reserved.
"""ConvMAE: Masked Convolution Meets Masked Autoencoders (Gao et al., 2022)."""

from typing import Dict, Optional, Union

import torch

from mmmim.registry import MODELS

from .base import BaseMIM

__all__ = ['ConvMAE']


@MODELS.register_module()
class ConvMAE(BaseMIM):
    """ConvMAE: a hybrid conv-transformer encoder and an MAE decoder.

    ``backbone`` is :class:`~mmmim.models.ConvMAEViT` (masks drawn on the
    stage-3 grid, masked convolutions in stages 1-2, visible tokens only in
    stage 3) returning ``(latent, mask)``; ``neck`` is
    :class:`~mmmim.models.ConvMAEDecoder` predicting every 16 x 16 patch;
    ``head`` is :class:`~mmmim.models.PixelReconstructionHead` with the
    total patch size (MAE's loss on masked patches, norm-pix target).

    Args:
        backbone (dict): Encoder config.
        neck (dict): Decoder config.
        head (dict): Target and loss config.
        data_preprocessor (dict, optional): See :class:`BaseMIM`.
            Defaults to None.
        init_cfg (dict | list, optional): Init config. Defaults to None.
    """

    def __init__(
        self,
        backbone: dict,
        neck: dict,
        head: dict,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
        )

    def reconstruct(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """Reconstruct masked inputs.

        Deterministic given the weights and ``mask`` (in eval mode, or
        without drop path).

        Args:
            inputs (torch.Tensor): Normalised images ``[B, C, H, W]``.
            mask (torch.Tensor, optional): Bool ``[B, L]`` on the stage-3
                grid, True = masked. Defaults to None (drawn by the
                backbone).

        Returns:
            dict: ``pred`` and ``target`` ``[B, L, p * p * C]``, the
            ``mask`` ``[B, L]`` used and the scalar ``loss``.
        """
        latent, mask = self.backbone(inputs, mask)
        pred = self.neck(latent, mask)
        target = self.head.target(inputs)
        loss = self.head.loss_from_target(pred, target, mask)
        return dict(pred=pred, target=target, mask=mask, loss=loss)
