# Copyright (c) mmmim contributors. All rights reserved.
"""The toy encoder: a ViT that swaps masked patches for a mask token."""

from typing import Optional, Tuple

import torch
import torch.nn as nn

from mmmim.models import BaseViT
from mmmim.models.utils import (
    PatchEmbed2d,
    build_2d_sincos_pos_embed,
    build_vit_blocks,
    grid_of,
)

from . import TOY_MODELS


@TOY_MODELS.register_module()
class ToyViT(BaseViT):
    """Every patch is encoded; masked ones become ``mask_token``.

    Args:
        img_size (int): Input side. Defaults to 32.
        patch_size (int): Patch side. Defaults to 8.
        **kwargs: ``arch``, ``out_type``, ``mask_generator``, ... of
            :class:`~mmmim.models.BaseViT`.
    """

    def __init__(self, img_size: int = 32, patch_size: int = 8, **kwargs):
        super().__init__(**kwargs)
        dims = self.embed_dims
        self.grid_size = grid_of(img_size, patch_size)
        self.patch_embed = PatchEmbed2d(3, dims, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dims))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dims))
        pos = build_2d_sincos_pos_embed(self.grid_size, dims, cls_token=True)
        self.pos_embed = nn.Parameter(pos, requires_grad=False)
        self.blocks = build_vit_blocks(
            self.num_layers,
            dims,
            self.arch_settings['num_heads'],
            self.arch_settings['feedforward_channels'],
        )
        self.build_output_norms(dict(type='LN', eps=1e-6), final_norm=True)
        self.freeze_stages()

    def forward(
        self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, ...]:
        """Images ``[B, 3, H, W]`` -> ``(features, mask)`` when masking
        (features by ``out_type``), else the plain outputs."""
        tokens, grid = self.patch_embed(x)
        masking = mask is not None or self.mask_generator is not None
        if masking:
            mask, _ = self.resolve_mask(
                mask, x.shape[0], grid, x.device, equal_counts=False
            )
            mask_token = self.mask_token.to(tokens.dtype)
            tokens = torch.where(mask.unsqueeze(-1), mask_token, tokens)
        cls_token = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls_token, tokens], dim=1) + self.pos_embed
        outs = self.run_blocks(x, grid)
        return (outs[-1], mask) if masking else outs
