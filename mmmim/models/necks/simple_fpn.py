# Copyright (c) mmmim contributors. All rights reserved.
"""ViTDet's simple feature pyramid (Li et al. 2022) for plain ViTs."""

from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule

from mmmim.registry import MODELS

__all__ = ['SimpleFPN']

SCALES = (4.0, 2.0, 1.0, 0.5)


@MODELS.register_module()
class SimpleFPN(BaseModule):
    """Multi-scale maps from the last map of a plain ViT (ViTDet).

    The single stride-16 map is turned into one map per ``scales`` entry:
    4x by two stride-2 transposed convolutions (norm and GELU between
    them), 2x by one, 1x as is and 0.5x by a 2x2 max-pool; each channel
    count halves with every upsampling (``C/4, C/2, C, C`` for the default
    scales). Every level then gets a 1x1 lateral and a 3x3 output
    ConvModule (norm, no activation) to ``out_channels``; levels beyond
    ``len(scales)`` come from a stride-2 max-pool of the coarsest one
    (P6 of Mask R-CNN), as in mmdet's FPN.

    Args:
        in_channels (int): Channels of the backbone map (768 for ViT-B).
        out_channels (int): Channels of every output. Defaults to 256.
        scales (Sequence[float]): Resampling factors, a subset of
            ``(4, 2, 1, 0.5)`` in decreasing order.
            Defaults to ``(4, 2, 1, 0.5)``.
        num_outs (int): Number of outputs, at least ``len(scales)``.
            Defaults to 5.
        norm_cfg (dict): Norm of the upsampling branch and the
            ConvModules. Defaults to mmpretrain's channel LayerNorm with
            ViTDet's eps, ``dict(type='mmpretrain.LN2d', eps=1e-6)``.
        init_cfg (dict | list, optional): Init config. Defaults to None.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int = 256,
        scales: Sequence[float] = SCALES,
        num_outs: int = 5,
        norm_cfg: dict = dict(type='mmpretrain.LN2d', eps=1e-6),  # noqa: B006
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        scales = tuple(float(s) for s in scales)
        if not scales or any(s not in SCALES for s in scales):
            raise ValueError(
                f'scales must be taken from {SCALES}, got {scales}'
            )
        if list(scales) != sorted(scales, reverse=True):
            raise ValueError(f'scales must decrease, got {scales}')
        if num_outs < len(scales):
            raise ValueError(
                f'num_outs ({num_outs}) must be >= len(scales) ({len(scales)})'
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.scales = scales
        self.num_outs = num_outs
        self.resamplers = nn.ModuleList()
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for scale in scales:
            resampler, channels = self._resampler(scale, in_channels, norm_cfg)
            self.resamplers.append(resampler)
            self.lateral_convs.append(
                ConvModule(
                    channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None
                )
            )
            self.fpn_convs.append(
                ConvModule(
                    out_channels,
                    out_channels,
                    3,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=None,
                )
            )

    @staticmethod
    def _resampler(
        scale: float, channels: int, norm_cfg: dict
    ) -> Tuple[nn.Module, int]:
        """The resampling branch of one level and its output channels."""
        if scale == 4.0:
            half, quarter = channels // 2, channels // 4
            layers = [
                nn.ConvTranspose2d(channels, half, 2, stride=2),
                build_norm_layer(norm_cfg, half)[1],
                nn.GELU(),
                nn.ConvTranspose2d(half, quarter, 2, stride=2),
            ]
            return nn.Sequential(*layers), quarter
        if scale == 2.0:
            half = channels // 2
            return nn.ConvTranspose2d(channels, half, 2, stride=2), half
        if scale == 1.0:
            return nn.Identity(), channels
        return nn.MaxPool2d(2, stride=2), channels

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Build the pyramid.

        Args:
            inputs (Sequence[torch.Tensor]): Backbone outputs; the last,
                ``[B, C, h, w]``, is used.

        Returns:
            Tuple[torch.Tensor]: ``num_outs`` maps ``[B, out_channels,
            h * s, w * s]`` for each scale ``s``, then the extra levels
            at half the previous size each.
        """
        if isinstance(inputs, torch.Tensor) or inputs[-1].dim() != 4:
            raise TypeError(
                'SimpleFPN takes a sequence of [B, C, H, W] maps (the '
                'backbone outputs, last one used); wrap a single map as '
                '(x,)'
            )
        x = inputs[-1]
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'SimpleFPN expects {self.in_channels} input channels, got '
                f'{x.shape[1]}'
            )
        outs: List[torch.Tensor] = []
        for resample, lateral, fpn_conv in zip(
            self.resamplers, self.lateral_convs, self.fpn_convs
        ):
            outs.append(fpn_conv(lateral(resample(x))))
        while len(outs) < self.num_outs:
            # A 1x1 max-pool with stride 2: subsampling, as mmdet's FPN.
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
