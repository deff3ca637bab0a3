# Copyright (c) mmmim contributors. All rights reserved.
"""The VideoMAE decoder."""

from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_

from mmmim.registry import MODELS

from ..utils import (
    apply_block,
    build_1d_sinusoid_pos_embed,
    build_norm_layer_cls,
    build_qv_bias_blocks,
    check_mask,
    gather_tokens,
    init_vit_weights,
    mask_to_ids,
)

__all__ = ['VideoMAEDecoder']


@MODELS.register_module()
class VideoMAEDecoder(BaseModule):
    """Lightweight transformer decoder of VideoMAE.

    Unlike MAE's decoder it does not restore the token order: the visible
    tokens (plus their position rows) are followed by one mask token per
    masked position (plus its row), and only the outputs of the mask
    tokens are predicted, as the official code does. The masked positions
    come in ascending order, which :meth:`masked_ids` returns for selecting
    the matching targets.

    Parameter names follow the official checkpoints (``encoder_to_decoder``
    without bias, ``mask_token``, ``blocks.i.*``, ``norm``, ``head``).

    Args:
        num_patches (int): Tokens per clip ``N`` (``t * h * w``), the size
            of the position table. Defaults to 1568.
        patch_size (int): Spatial cube side ``p``. Defaults to 16.
        tubelet_size (int): Frames per cube. Defaults to 2.
        in_channels (int): Video channels ``C``. Defaults to 3.
        embed_dims (int): Width of the encoder tokens. Defaults to 768.
        decoder_embed_dims (int): Decoder width (384 for ViT-B, 192 / 512 /
            640 for S / L / H). Defaults to 384.
        decoder_num_layers (int): Decoder depth; the official scripts use
            4 (the class default there is 8). Defaults to 4.
        decoder_num_heads (int): Decoder heads. Defaults to 6.
        mlp_ratio (float): MLP width over ``decoder_embed_dims``.
            Defaults to 4.
        qv_bias (bool): q and v biases. Defaults to True.
        norm_cfg (dict): Norm config. Defaults to
            ``dict(type='LN', eps=1e-6)``.
        with_cp (bool): Gradient checkpointing. Defaults to False.
        init_cfg (dict | list, optional): Init config. Defaults to None.
    """

    def __init__(
        self,
        num_patches: int = 1568,
        patch_size: int = 16,
        tubelet_size: int = 2,
        in_channels: int = 3,
        embed_dims: int = 768,
        decoder_embed_dims: int = 384,
        decoder_num_layers: int = 4,
        decoder_num_heads: int = 6,
        mlp_ratio: float = 4.0,
        qv_bias: bool = True,
        norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
        with_cp: bool = False,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_patches = num_patches
        self.with_cp = with_cp
        self.predict_dims = tubelet_size * patch_size**2 * in_channels
        dims = decoder_embed_dims
        self.encoder_to_decoder = nn.Linear(embed_dims, dims, bias=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dims))
        # Fixed, not a checkpoint entry (as in the official code).
        self.register_buffer(
            'pos_embed',
            build_1d_sinusoid_pos_embed(num_patches, dims),
            persistent=False,
        )
        self.blocks = build_qv_bias_blocks(
            decoder_num_layers,
            dims,
            decoder_num_heads,
            mlp_ratio,
            qv_bias,
            0.0,
            0.0,
            norm_cfg,
        )
        self.norm = build_norm_layer_cls(norm_cfg)(dims)
        self.head = nn.Linear(dims, self.predict_dims)

    def init_weights(self) -> None:
        """Official init (xavier Linear, mask token N(0, .02) truncated at
        +-.02), then ``init_cfg``."""
        if not self._is_init:
            self.apply(init_vit_weights)
            trunc_normal_(self.mask_token, std=0.02, a=-0.02, b=0.02)
        super().init_weights()

    @staticmethod
    def masked_ids(mask: torch.Tensor, num_masked: int) -> torch.Tensor:
        """Indices of the masked tokens, ascending, ``[B, num_masked]``.

        Args:
            mask (torch.Tensor): Bool ``[B, N]``, True = masked.
            num_masked (int): Masked tokens per sample.

        Returns:
            torch.Tensor: Token indices ``[B, num_masked]``.
        """
        # Visible then masked tokens, both ascending (a stable sort).
        ids_shuffle, _ = mask_to_ids(mask, mask.shape[1])
        return ids_shuffle[:, mask.shape[1] - num_masked :]

    def forward(
        self, latent: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Predict the masked cubes.

        Args:
            latent (torch.Tensor): Encoder output ``[B, N_visible, D]``,
                visible tokens in ascending order.
            mask (torch.Tensor): Bool ``[B, N]``, True = masked.

        Returns:
            torch.Tensor: Predictions ``[B, N_masked, tubelet * p * p * C]``
            for the masked tokens in ascending order.
        """
        batch_size, num_visible, _ = latent.shape
        check_mask(mask, self.num_patches, batch_size, equal_counts=False)
        num_masked = self.num_patches - num_visible
        if num_masked <= 0:
            raise ValueError(
                f'latent has {num_visible} tokens, the decoder is built for '
                f'{self.num_patches}: nothing is left to predict'
            )
        x_vis = self.encoder_to_decoder(latent)
        # The shape tells the visible count: no device sync needed.
        ids_shuffle, _ = mask_to_ids(mask, self.num_patches)
        pos = self.pos_embed.to(x_vis.dtype).expand(batch_size, -1, -1)
        pos_vis = gather_tokens(pos, ids_shuffle[:, :num_visible])
        pos_mask = gather_tokens(pos, ids_shuffle[:, num_visible:])
        mask_tokens = self.mask_token.to(x_vis.dtype) + pos_mask
        x = torch.cat([x_vis + pos_vis, mask_tokens], dim=1)
        for block in self.blocks:
            x = apply_block(block, x, self.with_cp)
        return self.head(self.norm(x[:, num_visible:]))
