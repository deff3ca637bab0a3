# Copyright (c) mmmim contributors. All rights reserved.
"""The ConvMAE decoder."""

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

__all__ = ['ConvMAEDecoder']


@MODELS.register_module()
class ConvMAEDecoder(BaseModule):
    """MAE-style decoder on the stage-3 tokens of ConvMAE (no cls token).

    It embeds the visible tokens, puts a shared learned mask token at every
    masked position (restoring the order with a gather), adds a fixed 2-D
    sin-cos table and predicts every 16 x 16 patch.

    Parameter names follow the official ``models_convmae.py``
    (``decoder_embed``, ``mask_token``, ``decoder_pos_embed``,
    ``decoder_blocks.i.*``, ``decoder_norm``, ``decoder_pred``). The
    official decoder MLP width is ``mlp_ratio[0]`` of the encoder, i.e. 4.

    Args:
        num_patches (int | Tuple[int, int]): The stage-3 grid ``(h, w)``,
            or its token count for a square grid. Defaults to 196.
        patch_size (int): The total patch side ``p`` (product of the stage
            strides). Defaults to 16.
        in_channels (int): Image channels ``C``. Defaults to 3.
        embed_dims (int): Width of the encoder tokens. Defaults to 768.
        decoder_embed_dims (int): Decoder width. Defaults to 512.
        decoder_num_layers (int): Decoder depth. Defaults to 8.
        decoder_num_heads (int): Decoder heads. Defaults to 16.
        mlp_ratio (float): MLP width over ``decoder_embed_dims``.
            Defaults to 4.
        qkv_bias (bool): Bias of the qkv projection. Defaults to True.
        norm_cfg (dict): Norm config. Defaults to
            ``dict(type='LN', eps=1e-6)``.
        with_cp (bool): Gradient checkpointing. Defaults to False.
        init_cfg (dict | list, optional): Init config. Defaults to None.
    """

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
        qkv_bias: bool = True,
        norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
        with_cp: bool = False,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        grid = self._grid_of(num_patches)
        self.num_patches = grid[0] * grid[1]
        self.with_cp = with_cp
        dims = decoder_embed_dims
        self.decoder_embed = nn.Linear(embed_dims, dims)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dims))
        self.decoder_pos_embed = nn.Parameter(
            build_2d_sincos_pos_embed(grid, dims), requires_grad=False
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
        self.decoder_pred = nn.Linear(
            dims, patch_size * patch_size * in_channels
        )

    @staticmethod
    def _grid_of(num_patches: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
        """The token grid; an int must be a perfect square."""
        if isinstance(num_patches, int):
            side = int(round(num_patches**0.5))
            if side * side != num_patches:
                raise ValueError(
                    f'num_patches={num_patches} is not a square grid; pass '
                    'the grid as num_patches=(h, w)'
                )
            return side, side
        h, w = num_patches
        return int(h), int(w)

    def init_weights(self) -> None:
        """Official init, then ``init_cfg`` (e.g. a checkpoint)."""
        if not self._is_init:
            nn.init.normal_(self.mask_token, std=0.02)
            self.apply(init_vit_weights)
        super().init_weights()

    def forward(
        self, latent: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Predict every patch.

        Args:
            latent (torch.Tensor): Encoder output ``[B, L_visible, D]``,
                visible tokens in their original order.
            mask (torch.Tensor): Bool ``[B, L]``, True = masked.

        Returns:
            torch.Tensor: Predictions ``[B, L, p * p * C]``.
        """
        x = self.decoder_embed(latent)
        batch_size, num_visible, _ = x.shape
        num_tokens = self.num_patches
        check_mask(mask, num_tokens, batch_size, equal_counts=False)
        if num_visible > num_tokens:
            raise ValueError(
                f'latent has {num_visible} tokens but the decoder is built '
                f'for {num_tokens}'
            )
        if num_visible < num_tokens:
            # The shape gives the visible count: no device sync needed.
            _, ids_restore = mask_to_ids(mask, num_visible)
            mask_tokens = self.mask_token.to(x.dtype).expand(
                batch_size, num_tokens - num_visible, -1
            )
            x = gather_tokens(torch.cat([x, mask_tokens], dim=1), ids_restore)
        x = x + self.decoder_pos_embed
        for block in self.decoder_blocks:
            x = apply_block(block, x, self.with_cp)
        return self.decoder_pred(self.decoder_norm(x))
