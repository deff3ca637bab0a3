# Copyright (c) mmmim contributors. All rights reserved.
"""The MAE decoder."""

import math
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmmim.registry import MODELS

from ..utils import (
    apply_block,
    build_2d_sincos_pos_embed,
    build_norm_layer_cls,
    build_vit_blocks,
    check_mask,
    gather_tokens,
    init_vit_weights,
    mask_to_ids,
)

__all__ = ['MAEDecoder']


@MODELS.register_module()
class MAEDecoder(BaseModule):
    """Lightweight transformer decoder of MAE.

    It embeds the encoder's visible tokens, puts a shared learned mask
    token at every masked position (restoring the original order with a
    gather), adds a fixed sin-cos position table and predicts every patch,
    as the official code does; the loss then uses the masked ones.

    Parameter names follow the official MAE code (``decoder_embed``,
    ``mask_token``, ``decoder_pos_embed``, ``decoder_blocks.i.*``,
    ``decoder_norm``, ``decoder_pred``). ``num_extra_tokens`` leading
    tokens of the encoder output (MAE's cls token) pass through the
    decoder and are dropped from the predictions.

    Args:
        num_patches (int | Tuple[int, int]): Patches per image ``L`` (a
            square grid), or the grid ``(h, w)``. Defaults to 196.
        patch_size (int): Patch side ``p``. Defaults to 16.
        in_channels (int): Image channels ``C``. Defaults to 3.
        embed_dims (int): Width of the encoder tokens. Defaults to 768.
        decoder_embed_dims (int): Decoder width. Defaults to 512.
        decoder_num_layers (int): Decoder depth. Defaults to 8.
        decoder_num_heads (int): Decoder heads. Defaults to 16.
        mlp_ratio (float): MLP width over ``decoder_embed_dims``.
            Defaults to 4.
        predict_dims (int, optional): Output size per patch. Defaults to
            None, which means ``p * p * C`` (pixels); a token target sets
            the vocabulary size.
        qkv_bias (bool): Bias of the qkv projection. Defaults to True.
        norm_cfg (dict): Norm config. Defaults to
            ``dict(type='LN', eps=1e-6)``.
        with_cp (bool): Gradient checkpointing of every block.
            Defaults to False.
        init_cfg (dict | list, optional): Init config. Defaults to None.
    """

    num_extra_tokens: int = 1

    def __init__(
        self,
        num_patches: Union[int, Tuple[int, int]] = 196,
        patch_size: int = 16,
        in_channels: int = 3,
        embed_dims: int = 768,
        decoder_embed_dims: int = 512,
        decoder_num_layers: int = 8,
        decoder_num_heads: int = 16,
        mlp_ratio: float = 4.0,
        predict_dims: Optional[int] = None,
        qkv_bias: bool = True,
        norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
        with_cp: bool = False,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        grid = self._grid_of(num_patches)
        self.num_patches = grid[0] * grid[1]
        self.with_cp = with_cp
        if predict_dims is None:
            predict_dims = patch_size * patch_size * in_channels
        self.predict_dims = predict_dims

        dims = decoder_embed_dims
        self.decoder_embed = nn.Linear(embed_dims, dims)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dims))
        self.decoder_pos_embed = nn.Parameter(
            build_2d_sincos_pos_embed(
                grid, dims, cls_token=self.num_extra_tokens > 0
            ),
            requires_grad=False,
        )
        self.decoder_blocks = build_vit_blocks(
            decoder_num_layers,
            dims,
            decoder_num_heads,
            int(dims * mlp_ratio),
            qkv_bias,
            0.0,
            norm_cfg,
        )
        self.decoder_norm = build_norm_layer_cls(norm_cfg)(dims)
        self.decoder_pred = nn.Linear(dims, predict_dims)

    @staticmethod
    def _grid_of(num_patches: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
        """The patch grid; an int must be a perfect square."""
        if isinstance(num_patches, int):
            side = math.isqrt(num_patches)
            if side * side != num_patches:
                raise ValueError(
                    f'num_patches={num_patches} is not a square grid; pass '
                    'the grid as num_patches=(h, w)'
                )
            return side, side
        h, w = num_patches
        return int(h), int(w)

    def init_weights(self) -> None:
        """Official MAE init, then ``init_cfg`` (e.g. a checkpoint)."""
        if not self._is_init:
            nn.init.normal_(self.mask_token, std=0.02)
            self.apply(init_vit_weights)
        super().init_weights()

    def forward(
        self, latent: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Predict every patch.

        Args:
            latent (torch.Tensor): Encoder output ``[B, 1 + L_visible, D]``
                (cls first, visible tokens in their original order), or
                ``[B, 1 + L, D]`` when the encoder already holds a mask
                token at every masked position.
            mask (torch.Tensor): Bool ``[B, L]``, True = masked.

        Returns:
            torch.Tensor: Predictions ``[B, L, predict_dims]``.
        """
        x = self.decoder_embed(latent)
        extra, num_tokens = self.num_extra_tokens, self.num_patches
        batch_size, num_visible = x.shape[0], x.shape[1] - extra
        check_mask(mask, num_tokens, batch_size, equal_counts=False)
        if num_visible > num_tokens:
            raise ValueError(
                f'latent has {num_visible} patch tokens but the '
                f'decoder is built for {num_tokens}'
            )
        tokens = x[:, extra:]
        if num_visible < num_tokens:
            # The shape tells the visible count: no device sync needed.
            _, ids_restore = mask_to_ids(mask, num_visible)
            mask_tokens = self.mask_token.to(x.dtype).expand(
                batch_size, num_tokens - num_visible, -1
            )
            tokens = gather_tokens(
                torch.cat([tokens, mask_tokens], dim=1), ids_restore
            )
        if extra:
            tokens = torch.cat([x[:, :extra], tokens], dim=1)
        x = tokens + self.decoder_pos_embed
        for block in self.decoder_blocks:
            x = apply_block(block, x, self.with_cp)
        x = self.decoder_pred(self.decoder_norm(x))
        return x[:, extra:]
