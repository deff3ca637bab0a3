# Copyright (c) mmmim contributors. All rights reserved.
"""The MAE Vision Transformer encoder."""

from typing import Optional, Tuple, Union

import torch
import torch.nn as nn

from mmmim.registry import MODELS

from ..utils import (
    PatchEmbed2d,
    apply_block,
    build_2d_sincos_pos_embed,
    build_vit_blocks,
    gather_tokens,
    grid_of,
    init_vit_weights,
    mask_to_ids,
    resize_pos_embed,
)
from .base_vit import BaseViT

__all__ = ['MAEViT']


@MODELS.register_module()
class MAEViT(BaseViT):
    """Vision Transformer encoder of MAE.

    In pre-training the encoder runs only on the visible tokens (the paper's
    key saving), selected with a gather; with ``encoder_mask_token=True``
    it instead sees all tokens with a learned mask token in place of the
    masked ones (the paper's ablation). Without a mask generator and
    without a mask it is a plain ViT for fine-tuning and linear probing
    (:class:`WindowedViT` is its dense-task counterpart).

    Parameter names follow the official MAE code (``patch_embed.proj``,
    ``cls_token``, ``pos_embed``, ``blocks.i.*``, ``norm``), so converting
    an official checkpoint only renames prefixes.

    Args:
        arch (str | dict): ``'b'``, ``'l'``, ``'h'`` or a dict, see
            :class:`BaseViT`. Defaults to 'b'.
        img_size (int | Tuple[int, int]): Size the position table is built
            for; other sizes divisible by ``patch_size`` are served by
            bicubic resizing. Defaults to 224.
        patch_size (int): Patch side. Defaults to 16.
        in_channels (int): Image channels. Defaults to 3.
        mask_generator (dict, optional): A ``TASK_UTILS`` generator config
            used when ``forward`` gets no mask. None turns pre-training
            off unless a mask is passed. Defaults to
            ``dict(type='mmmim.RandomMaskGenerator', mask_ratio=0.75)``.
        encoder_mask_token (bool): Feed all tokens with a learned
            ``mask_token`` instead of dropping masked ones.
            Defaults to False.
        drop_path_rate (float): Stochastic depth of the last block.
            Defaults to 0.
        qkv_bias (bool): Bias of the qkv projection. Defaults to True.
        norm_cfg (dict): Norm config. Defaults to
            ``dict(type='LN', eps=1e-6)``.
        out_type (str): Plain-mode output, see :class:`BaseViT`.
            Defaults to 'cls_token'.
        final_norm (bool): Apply ``norm`` after the last block. Set False
            for the official global-pool fine-tuning. Defaults to True.
        pos_embed_trainable (bool): Make ``pos_embed`` learnable, as the
            official fine-tuning does; pre-training keeps the sin-cos table
            frozen. Defaults to False.
        **kwargs: ``out_indices``, ``with_cp``, ``frozen_stages`` and
            ``init_cfg``, see :class:`BaseViT`.
    """

    def __init__(
        self,
        arch: Union[str, dict] = 'b',
        img_size: Union[int, Tuple[int, int]] = 224,
        patch_size: int = 16,
        in_channels: int = 3,
        mask_generator: Optional[dict] = dict(  # noqa: B006
            type='mmmim.RandomMaskGenerator', mask_ratio=0.75
        ),
        encoder_mask_token: bool = False,
        drop_path_rate: float = 0.0,
        qkv_bias: bool = True,
        norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
        out_type: str = 'cls_token',
        final_norm: bool = True,
        pos_embed_trainable: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(
            arch, out_type=out_type, mask_generator=mask_generator, **kwargs
        )
        dims = self.embed_dims
        self.patch_size = patch_size
        self.grid_size = grid_of(img_size, patch_size)
        self.encoder_mask_token = encoder_mask_token
        self.patch_embed = PatchEmbed2d(in_channels, dims, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dims))
        # A fixed sin-cos table; a Parameter (not a buffer) so that its key
        # and fine-tuning behaviour match the official checkpoints.
        self.pos_embed = nn.Parameter(
            build_2d_sincos_pos_embed(self.grid_size, dims, cls_token=True),
            requires_grad=pos_embed_trainable,
        )
        if encoder_mask_token:
            self.mask_token = nn.Parameter(torch.zeros(1, 1, dims))
        self.blocks = build_vit_blocks(
            self.num_layers,
            dims,
            self.arch_settings['num_heads'],
            self.arch_settings['feedforward_channels'],
            qkv_bias,
            drop_path_rate,
            norm_cfg,
        )
        self.build_output_norms(norm_cfg, final_norm)
        self.freeze_stages()

    def init_own_weights(self) -> None:
        """The official MAE init: the patch conv like a Linear on its
        ``[D, C * p * p]`` view, tokens N(0, 0.02), xavier Linears."""
        weight = self.patch_embed.proj.weight
        nn.init.xavier_uniform_(weight.data.view(weight.shape[0], -1))
        nn.init.normal_(self.cls_token, std=0.02)
        if self.encoder_mask_token:
            nn.init.normal_(self.mask_token, std=0.02)
        self.apply(init_vit_weights)

    def forward(
        self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, ...]:
        """Encode images.

        Args:
            x (torch.Tensor): Images ``[B, C, H, W]``; ``H`` and ``W``
                divisible by the patch size.
            mask (torch.Tensor, optional): Bool ``[B, L]``, True = masked,
                the same count in every sample. Defaults to None: drawn
                from ``mask_generator`` when there is one.

        Returns:
            tuple: In pre-training mode ``(latent, mask)`` with ``latent``
            ``[B, 1 + L_visible, D]`` (cls first; ``[B, 1 + L, D]`` with
            ``encoder_mask_token``) and the mask used. Otherwise one
            output per ``out_indices`` shaped by ``out_type``.
        """
        tokens, grid = self.patch_embed(x)
        pos_embed = resize_pos_embed(self.pos_embed, self.grid_size, grid)
        batch_size, num_tokens, _ = tokens.shape
        cls_token = (self.cls_token + pos_embed[:, :1]).expand(
            batch_size, -1, -1
        )
        if mask is None and self.mask_generator is None:
            x = torch.cat([cls_token, tokens + pos_embed[:, 1:]], dim=1)
            return self.run_blocks(x, grid)
        mask, num_masked = self.resolve_mask(
            mask,
            batch_size,
            grid,
            tokens.device,
            equal_counts=not self.encoder_mask_token,
        )
        if self.encoder_mask_token:
            # Replace before adding positions, so masked slots keep theirs.
            mask_token = self.mask_token.to(tokens.dtype)
            tokens = torch.where(mask.unsqueeze(-1), mask_token, tokens)
            tokens = tokens + pos_embed[:, 1:]
        else:
            tokens = tokens + pos_embed[:, 1:]
            ids_keep, _ = mask_to_ids(mask, num_tokens - num_masked)
            tokens = gather_tokens(tokens, ids_keep)
        x = torch.cat([cls_token, tokens], dim=1)
        for block in self.blocks:
            x = apply_block(block, x, self.with_cp)
        if self.norm is not None:
            x = self.norm(x)
        return x, mask
