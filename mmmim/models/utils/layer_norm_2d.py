# Copyright (c) mmmim contributors. All rights reserved.
"""A LayerNorm over the channels of NCHW maps, for dense-task necks."""

import torch
import torch.nn as nn

from mmmim.registry import MODELS

__all__ = ['LN2d']


@MODELS.register_module()
class LN2d(nn.LayerNorm):
    """LayerNorm over the channel axis of ``[B, C, H, W]`` maps.

    The channels-first LayerNorm of ViTDet's simple feature pyramid and
    heads. A subclass of ``nn.LayerNorm``, so optimizer constructors that
    exempt norms from weight decay recognise it. Use it in mmcv norm
    configs as ``norm_cfg=dict(type='mmmim.LN2d')`` (from any scope).

    Args:
        num_channels (int): Channels ``C``.
        eps (float): Epsilon. Defaults to 1e-6, as ViTDet.
    """

    _abbr_ = 'ln'

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__(num_channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> ``[B, C, H, W]``."""
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
