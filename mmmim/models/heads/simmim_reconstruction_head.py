# Copyright (c) mmmim contributors. All rights reserved.
"""Pixel target and L1 loss of SimMIM."""

from typing import Optional, Union

import torch

from mmmim.registry import MODELS

from ..losses import masked_l1_loss
from .base_reconstruction_head import BaseReconstructionHead

__all__ = ['SimMIMReconstructionHead']

#: The official SimMIM adds this to the masked pixel count.
OFFICIAL_EPS = 1e-5


@MODELS.register_module()
class SimMIMReconstructionHead(BaseReconstructionHead):
    """Targets in patch space and SimMIM's L1 loss on masked pixels.

    The target is the (normalised) input image, patchified with the model
    patch size ``p`` (16 for ViT/16, 4 for Swin) so that every row belongs
    to one token of the mask. The loss sums the absolute errors over the
    pixels of masked tokens (all channels) and divides by the number of
    masked pixels and by ``in_channels``, as the official code does with
    its mask upsampled to pixels.

    Args:
        patch_size (int): Model patch side ``p``. Defaults to 16.
        in_channels (int): Image channels ``C``. Defaults to 3.
        official_eps (bool): Add 1e-5 to the masked pixel count as the
            official code does (mmpretrain does not; the difference is
            below 1e-9 relative on real sizes). Defaults to True.
        init_cfg (dict | list, optional): Init config. Defaults to None.
    """

    shape_hint = 'decoder encoder_stride and the head patch_size'

    def __init__(
        self,
        patch_size: int = 16,
        in_channels: int = 3,
        official_eps: bool = True,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(patch_size, init_cfg)
        self.in_channels = in_channels
        self.official_eps = official_eps

    def loss_from_target(
        self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """The L1 loss, ``pred`` and ``target`` ``[B, L, p * p * C]`` (the
        default :meth:`target`), ``mask`` bool ``[B, L]``."""
        self.check_pair(pred, target, mask)
        return masked_l1_loss(
            pred,
            target,
            mask,
            self.in_channels,
            OFFICIAL_EPS if self.official_eps else 0.0,
        )
