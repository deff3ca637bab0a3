# Copyright (c) mmmim contributors. All rights reserved.
"""The ConvMAE pre-training encoder."""

from typing import Optional, Tuple

import torch
import torch.nn as nn
from timm.models.vision_transformer import Block

from mmmim.registry import MODELS

from ..utils import (
    apply_block,
    build_norm_layer_cls,
    gather_tokens,
    mask_to_ids,
)
from ..utils.conv_blocks import upsample_mask
from .base_convvit import BaseConvViT

__all__ = ['ConvMAEViT']


@MODELS.register_module()
class ConvMAEViT(BaseConvViT):
    """Hybrid convolution-transformer encoder of ConvMAE (Gao et al., 2022).

    A mask is drawn on the stage-3 grid (16-pixel patches for the default
    ``patch_sizes``) and upsampled block-wise to stages 1 and 2, where the
    CBlocks run densely with masked depthwise convolutions so that visible
    positions never see masked ones. Stage 3 embeds all tokens, adds the
    fixed 2-D sin-cos positions and runs its transformer blocks on the
    visible tokens only (selected by gather). The stride-convolution
    fusion ``stage1_output_decode`` / ``stage2_output_decode`` maps stages
    1 and 2 onto the same tokens, which are added before the final norm.

    Parameter names follow the official ``models_convmae.py`` (see
    ``tools/model_converters/convmae_to_mmmim.py``). The downstream
    counterpart with the same names is :class:`ConvViT`.

    Args:
        mask_generator (dict, optional): A ``TASK_UTILS`` generator config
            used when ``forward`` gets no mask. Defaults to
            ``dict(type='mmmim.RandomMaskGenerator', mask_ratio=0.75)``.
        qkv_bias (bool): Bias of the qkv projections. Defaults to True.
        norm_cfg (dict): Norm of the stage-3 blocks and the final norm.
            Defaults to ``dict(type='LN', eps=1e-6)``; the CBlocks and
            patch embeddings keep the official eps 1e-5.
        **kwargs: ``arch``, ``img_size``, ``patch_sizes``,
            ``in_channels``, ``drop_path_rate``, ``channels_last``,
            ``with_cp`` and ``init_cfg``, see :class:`BaseConvViT`.
    """

    def __init__(
        self,
        mask_generator: Optional[dict] = dict(  # noqa: B006
            type='mmmim.RandomMaskGenerator', mask_ratio=0.75
        ),
        qkv_bias: bool = True,
        norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
        **kwargs,
    ) -> None:
        super().__init__(mask_generator=mask_generator, **kwargs)
        d1, d2, d3 = self.embed_dims
        _, p2, p3 = self.patch_sizes
        norm_layer = build_norm_layer_cls(norm_cfg)
        self.blocks3 = nn.ModuleList(
            Block(
                d3,
                self.num_heads,
                mlp_ratio=self.mlp_ratio,
                qkv_bias=qkv_bias,
                drop_path=rate,
                norm_layer=norm_layer,
            )
            for rate in self.stage3_rates()
        )
        # Multi-scale fusion: strided convs onto the stage-3 tokens.
        self.stage1_output_decode = nn.Conv2d(d1, d3, p2 * p3, p2 * p3)
        self.stage2_output_decode = nn.Conv2d(d2, d3, p3, p3)
        self.norm = norm_layer(d3)
        if self.channels_last:
            self.to_channels_last()

    def forward(
        self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode the visible part of images.

        Args:
            x (torch.Tensor): Images ``[B, C, H, W]``, ``H`` and ``W``
                divisible by the total patch size (16 by default).
            mask (torch.Tensor, optional): Bool ``[B, L]`` on the stage-3
                grid, True = masked, the same count in every sample.
                Defaults to None: drawn from ``mask_generator``.

        Returns:
            Tuple[torch.Tensor, torch.Tensor]: ``latent``
            ``[B, L_visible, D]`` (visible tokens in their original order,
            no cls token) and the mask used.
        """
        grid = self.check_input(x)
        batch_size, num_tokens = x.shape[0], grid[0] * grid[1]
        mask, num_masked = self.resolve_mask(mask, batch_size, grid, x.device)
        _, p2, p3 = self.patch_sizes
        visible1 = ~upsample_mask(mask, grid, p2 * p3)
        visible2 = ~upsample_mask(mask, grid, p3)

        x = self.patch_embed1(self.prepare_input(x))
        for block in self.blocks1:
            x = apply_block(block, x, self.with_cp, visible1)
        stage1 = self.stage1_output_decode(x).flatten(2).transpose(1, 2)
        x = self.patch_embed2(x)
        for block in self.blocks2:
            x = apply_block(block, x, self.with_cp, visible2)
        stage2 = self.stage2_output_decode(x).flatten(2).transpose(1, 2)
        x = self.stage3_tokens(x, grid)

        ids_keep, _ = mask_to_ids(mask, num_tokens - num_masked)
        x = gather_tokens(x, ids_keep)
        for block in self.blocks3:
            x = apply_block(block, x, self.with_cp)
        fused = gather_tokens(stage1, ids_keep) + gather_tokens(
            stage2, ids_keep
        )
        return self.norm(x + fused), mask
