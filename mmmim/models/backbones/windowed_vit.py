# Copyright (c) mmmim contributors. All rights reserved.
"""The plain ViT for dense tasks (ViTDet-style windowed attention)."""

from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from mmmim.registry import MODELS

from ..utils import (
    GridRelPosBias,
    PatchEmbed2d,
    apply_block,
    build_2d_sincos_pos_embed,
    build_window_blocks,
    grid_attention_biases,
    grid_of,
    init_vit_weights,
    parse_out_indices,
    resize_pos_embed,
)
from .base_vit import BaseViT

__all__ = ['WindowedViT']


@MODELS.register_module()
class WindowedViT(BaseViT):
    """A pre-trained MAE ViT as a detection / segmentation backbone.

    The blocks run on the ``[B, h, w, D]`` token grid without a cls token
    and attend inside ``window_size`` windows (zero-padded at the
    bottom/right), except the ``global_attn_indexes`` blocks, so that a ViT
    pre-trained at 224 runs at 1024 with linear cost in most blocks. The
    parameter names equal :class:`MAEViT`'s: MAE checkpoints load unchanged
    (their ``cls_token`` is reported unexpected).

    Args:
        arch (str | dict): See :class:`BaseViT`. Defaults to 'b'.
        img_size (int | Tuple[int, int]): Size the position table (and the
            global bias table) is built for. Defaults to 224.
        patch_size (int): Patch side. Defaults to 16.
        in_channels (int): Image channels. Defaults to 3.
        window_size (int): Window side of the windowed blocks.
            Defaults to 14.
        global_attn_indexes (Sequence[int]): Blocks with global attention;
            ViTDet uses ``(2, 5, 8, 11)`` for ViT-B. Defaults to ().
        use_rel_pos_bias (bool): Add a relative position bias: one
            zero-initialised table for the windowed blocks and one for the
            global blocks (the official ConvMAE detector's scheme).
            Defaults to False.
        drop_path_rate (float): Stochastic depth of the last block.
            Defaults to 0.
        qkv_bias (bool): Bias of the qkv projection. Defaults to True.
        norm_cfg (dict): Norm config; only its ``eps`` is used.
            Defaults to ``dict(type='LN', eps=1e-6)``.
        final_norm (bool): Apply ``norm`` after the last block.
            Defaults to True.
        pos_embed_trainable (bool): Learn ``pos_embed``. Defaults to False.
        **kwargs: ``out_indices``, ``with_cp``, ``frozen_stages`` and
            ``init_cfg``, see :class:`BaseViT`.
    """

    # The relative position tables are new in a transfer from
    # pre-training (which has none).
    fresh_on_transfer = (r'fc_norm\.', r'rel_pos_bias\.')

    out_types = ('featmap',)

    def __init__(
        self,
        arch: Union[str, dict] = 'b',
        img_size: Union[int, Tuple[int, int]] = 224,
        patch_size: int = 16,
        in_channels: int = 3,
        window_size: int = 14,
        global_attn_indexes: Sequence[int] = (),
        use_rel_pos_bias: bool = False,
        drop_path_rate: float = 0.0,
        qkv_bias: bool = True,
        norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
        final_norm: bool = True,
        pos_embed_trainable: bool = False,
        **kwargs,
    ) -> None:
        masking = {'mask_generator', 'encoder_mask_token', 'out_type'}
        if masking & set(kwargs):
            raise ValueError(
                f'WindowedViT takes no {sorted(masking & set(kwargs))}: it '
                'encodes every token and returns maps; use MAEViT for '
                'masked pre-training and classification'
            )
        super().__init__(
            arch, out_type='featmap', mask_generator=None, **kwargs
        )
        if window_size is None or window_size < 1:
            raise ValueError(
                f'window_size must be >= 1, got {window_size}; for a plain '
                'ViT without windows use MAEViT'
            )
        self.window_size = window_size
        self.global_attn_indexes = tuple(
            sorted(
                set(parse_out_indices(global_attn_indexes, self.num_layers))
            )
        )
        self.use_rel_pos_bias = use_rel_pos_bias
        self.patch_size = patch_size
        self.grid_size = grid_of(img_size, patch_size)
        dims, heads = self.embed_dims, self.arch_settings['num_heads']
        self.patch_embed = PatchEmbed2d(in_channels, dims, patch_size)
        # With the cls row, as the checkpoints hold it.
        self.pos_embed = nn.Parameter(
            build_2d_sincos_pos_embed(self.grid_size, dims, cls_token=True),
            requires_grad=pos_embed_trainable,
        )
        self.blocks = build_window_blocks(
            self.num_layers,
            dims,
            heads,
            self.arch_settings['feedforward_channels'],
            qkv_bias,
            drop_path_rate,
            norm_cfg.get('eps', 1e-6),
        )
        if use_rel_pos_bias:
            self.rel_pos_bias = nn.Module()
            self.rel_pos_bias.windowed = GridRelPosBias(
                (window_size, window_size), heads
            )
            self.rel_pos_bias.global_grid = (
                GridRelPosBias(self.grid_size, heads)
                if self.global_attn_indexes
                else None
            )
        self.build_output_norms(norm_cfg, final_norm)
        self.freeze_stages()

    def init_own_weights(self) -> None:
        """The MAE init (see :meth:`MAEViT.init_own_weights`)."""
        weight = self.patch_embed.proj.weight
        nn.init.xavier_uniform_(weight.data.view(weight.shape[0], -1))
        self.apply(init_vit_weights)

    def forward(
        self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, ...]:
        """Encode images into maps.

        Args:
            x (torch.Tensor): Images ``[B, C, H, W]``, ``H`` and ``W``
                divisible by the patch size.
            mask (None): Must be None; this backbone does not mask.

        Returns:
            Tuple[torch.Tensor, ...]: ``[B, D, H / p, W / p]`` per
            ``out_indices``.
        """
        if mask is not None:
            raise ValueError(
                'WindowedViT (the detection backbone) encodes every token '
                'and cannot take a mask; use MAEViT for masked pre-training'
            )
        tokens, grid = self.patch_embed(x)
        pos_embed = resize_pos_embed(self.pos_embed, self.grid_size, grid)
        x = (tokens + pos_embed[:, 1:]).reshape(x.shape[0], *grid, -1)
        biases = {'windowed': None, 'global': None}
        if self.use_rel_pos_bias:
            biases = grid_attention_biases(
                self.rel_pos_bias.windowed,
                self.rel_pos_bias.global_grid,
                grid,
                x,
            )
        outs = []
        for i, block in enumerate(self.blocks):
            if i in self.global_attn_indexes:
                args = (None, biases['global'])
            else:
                args = (self.window_size, biases['windowed'])
            x = apply_block(block, x, self.with_cp, *args)
            if i == self.num_layers - 1 and self.norm is not None:
                x = self.norm(x)
            if i in self.out_indices:
                outs.append(x.permute(0, 3, 1, 2).contiguous())
        return tuple(outs)

    def no_weight_decay(self) -> set:
        """The tokens and the bias tables."""
        return {'pos_embed', 'relative_position_bias_table'}
