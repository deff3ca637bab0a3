# Copyright (c) mmmim contributors. All rights reserved.
"""The SimMIM linear decoder."""

from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmmim.registry import MODELS

__all__ = ['SimMIMLinearDecoder']


@MODELS.register_module()
class SimMIMLinearDecoder(BaseModule):
    """Predict pixels from the encoder's feature map with one 1x1 conv.

    A ``1 x 1`` convolution maps each feature to the
    ``encoder_stride ** 2 * out_channels`` pixels it covers and
    ``PixelShuffle`` lays them out, giving an image at the input resolution
    (official ``SimMIM.decoder``; its keys ``decoder.0.*`` are kept).

    Args:
        in_channels (int): Channels of the feature map (768 for ViT-B,
            1024 for the last Swin-B stage).
        encoder_stride (int): Input pixels per feature along each axis (16
            for ViT/16, 32 for Swin). Defaults to 16.
        out_channels (int): Image channels. Defaults to 3.
        init_cfg (dict | list, optional): Init config. Defaults to None.
    """

    def __init__(
        self,
        in_channels: int,
        encoder_stride: int = 16,
        out_channels: int = 3,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.encoder_stride = encoder_stride
        self.out_channels = out_channels
        self.decoder = nn.Sequential(
            nn.Conv2d(
                in_channels, encoder_stride**2 * out_channels, kernel_size=1
            ),
            nn.PixelShuffle(encoder_stride),
        )

    def forward(
        self, x: Union[torch.Tensor, Sequence[torch.Tensor]]
    ) -> torch.Tensor:
        """Decode a feature map.

        Args:
            x (torch.Tensor | Sequence[torch.Tensor]): The feature map
                ``[B, C, h, w]``, or the backbone's tuple of outputs (the
                last one is used).

        Returns:
            torch.Tensor: Pixels ``[B, out_channels, h * s, w * s]``.
        """
        if isinstance(x, (list, tuple)):
            x = x[-1]
        if x.dim() != 4:
            raise ValueError(
                'SimMIMLinearDecoder expects a feature map [B, C, h, w], '
                f"got {tuple(x.shape)}; set the backbone's out_type to "
                "'featmap'"
            )
        return self.decoder(x)
