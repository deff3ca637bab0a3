# Copyright (c) mmmim contributors. All rights reserved.
"""The VideoMAE Vision Transformer encoder."""

import math
from typing import Optional, Set, Tuple, Union

import torch

from mmmim.registry import MODELS

from ..utils import (
    CubeEmbed,
    apply_block,
    build_1d_sinusoid_pos_embed,
    build_qv_bias_blocks,
    check_mask,
    check_mask_counts_async,
    gather_tokens,
    init_vit_weights,
    mask_to_ids,
)
from .base_vit import BaseViT

__all__ = ['VideoMAEViT']

VideoGrid = Tuple[int, int, int]


@MODELS.register_module()
class VideoMAEViT(BaseViT):
    """Vision Transformer encoder of VideoMAE.

    Videos ``[B, C, T, H, W]`` are cut into ``tubelet x p x p`` cubes
    (2x16x16: a 16-frame 224 px clip gives 8x14x14 = 1568 tokens, t-major)
    with a fixed 1-D sinusoid position table over the token index. In
    pre-training only the visible tokens are encoded, selected with a
    gather (no boolean indexing, so no device-to-host synchronisation and
    no data-dependent shapes). Without a mask generator and without a mask
    it is a plain video ViT for fine-tuning (mean pooling + ``fc_norm``).

    There is no cls token. Attention has learned q and v biases and a zero
    k bias; parameter names follow the official checkpoints
    (``patch_embed.proj``, ``blocks.i.attn.q_bias``, ``norm``,
    ``fc_norm``), so conversion only renames prefixes.

    Args:
        arch (str | dict): ``'s'``, ``'b'``, ``'l'``, ``'h'`` or a dict with
            ``embed_dims``, ``num_layers``, ``num_heads`` and
            ``feedforward_channels``. Defaults to 'b'.
        img_size (int): Frame side the position table is built for.
            Defaults to 224.
        num_frames (int): Frames per clip the table is built for.
            Defaults to 16.
        patch_size (int): Spatial cube side. Defaults to 16.
        tubelet_size (int): Frames per cube. Defaults to 2.
        in_channels (int): Video channels. Defaults to 3.
        mask_generator (dict, optional): A ``TASK_UTILS`` generator used
            when ``forward`` gets no mask; None turns pre-training off
            unless a mask is passed. Defaults to
            ``dict(type='mmmim.TubeMaskGenerator', mask_ratio=0.9)``.
        drop_path_rate (float): Stochastic depth of the last block.
            Defaults to 0.
        qv_bias (bool): Learn q and v biases. Defaults to True.
        layer_scale_init_value (float): Layer-scale init; 0 builds none
            (official default). Defaults to 0.
        norm_cfg (dict): Norm config. Defaults to
            ``dict(type='LN', eps=1e-6)``.
        out_type (str): Plain-mode output: ``'raw'`` ``[B, N, D]``,
            ``'featmap'`` ``[B, D, t, h, w]`` or ``'avg_featmap'`` (mean
            of the tokens through ``fc_norm``, the official fine-tuning)
            ``[B, D]``. Defaults to 'raw'.
        final_norm (bool): Apply ``norm`` after the last block; the
            official mean-pooling fine-tuning has none (``fc_norm``
            instead). Defaults to True.
        **kwargs: ``out_indices``, ``with_cp``, ``frozen_stages`` and
            ``init_cfg``, see :class:`BaseViT`.
    """

    out_types = ('raw', 'featmap', 'avg_featmap')
    num_extra_tokens = 0

    def __init__(
        self,
        arch: Union[str, dict] = 'b',
        img_size: int = 224,
        num_frames: int = 16,
        patch_size: int = 16,
        tubelet_size: int = 2,
        in_channels: int = 3,
        mask_generator: Optional[dict] = dict(  # noqa: B006
            type='mmmim.TubeMaskGenerator', mask_ratio=0.9
        ),
        drop_path_rate: float = 0.0,
        qv_bias: bool = True,
        layer_scale_init_value: float = 0.0,
        norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
        out_type: str = 'raw',
        final_norm: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(
            arch, out_type=out_type, mask_generator=mask_generator, **kwargs
        )
        if img_size % patch_size or num_frames % tubelet_size:
            raise ValueError(
                f'img_size={img_size} must be divisible by patch_size='
                f'{patch_size} and num_frames={num_frames} by '
                f'tubelet_size={tubelet_size}'
            )
        dims = self.embed_dims
        self.grid_size: VideoGrid = (
            num_frames // tubelet_size,
            img_size // patch_size,
            img_size // patch_size,
        )
        self.patch_embed = CubeEmbed(
            in_channels, dims, patch_size, tubelet_size
        )
        # Fixed and rebuilt from the grid, as in the official code: not a
        # checkpoint entry (official checkpoints hold none).
        self.register_buffer(
            'pos_embed',
            build_1d_sinusoid_pos_embed(math.prod(self.grid_size), dims),
            persistent=False,
        )
        self.blocks = build_qv_bias_blocks(
            self.num_layers,
            dims,
            self.arch_settings['num_heads'],
            self.arch_settings['feedforward_channels'] / dims,
            qv_bias,
            drop_path_rate,
            layer_scale_init_value,
            norm_cfg,
        )
        self.build_output_norms(norm_cfg, final_norm)
        self.freeze_stages()

    def init_own_weights(self) -> None:
        """The official init: xavier Linears, LayerNorms 1/0; the cube
        conv keeps PyTorch's default, as officially."""
        self.apply(init_vit_weights)

    def _pos_embed_for(
        self, grid: VideoGrid, like: torch.Tensor
    ) -> torch.Tensor:
        """The table for ``grid`` (rebuilt when the clip size differs)."""
        if tuple(grid) == self.grid_size:
            table = self.pos_embed
        else:
            table = build_1d_sinusoid_pos_embed(
                math.prod(grid), self.embed_dims
            ).to(like.device)
        return table.to(like.dtype)

    def forward(
        self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Union[Tuple[torch.Tensor, torch.Tensor], Tuple[torch.Tensor, ...]]:
        """Encode videos.

        Args:
            x (torch.Tensor): Videos ``[B, C, T, H, W]``.
            mask (torch.Tensor, optional): Bool ``[B, N]``, True = masked,
                the same count in every sample. Defaults to None: drawn
                from ``mask_generator`` when there is one.

        Returns:
            tuple: In pre-training mode ``(latent, mask)`` with ``latent``
            ``[B, N_visible, D]`` (visible tokens in ascending order) and
            the mask used. Otherwise one output per ``out_indices`` shaped
            by ``out_type``.
        """
        tokens, grid = self.patch_embed(x)
        tokens = tokens + self._pos_embed_for(grid, tokens)
        if mask is None and self.mask_generator is None:
            return self.run_blocks(tokens, grid)
        return self._forward_pretrain(tokens, grid, mask)

    def _forward_pretrain(
        self,
        tokens: torch.Tensor,
        grid: VideoGrid,
        mask: Optional[torch.Tensor],
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode the visible tokens only."""
        batch_size, num_tokens, _ = tokens.shape
        mask, num_masked = self.resolve_mask(
            mask, batch_size, grid, tokens.device
        )
        ids_keep, _ = mask_to_ids(mask, num_tokens - num_masked)
        x = gather_tokens(tokens, ids_keep)
        for block in self.blocks:
            x = apply_block(block, x, self.with_cp)
        if self.norm is not None:
            x = self.norm(x)
        return x, mask

    def count_masked(
        self,
        mask: torch.Tensor,
        batch_size: int,
        grid: VideoGrid,
        equal_counts: bool,
    ) -> Optional[int]:
        """Pipeline masks come from the same generator: check their counts
        without reading them back from the device."""
        if not hasattr(self.mask_generator, 'num_masked'):
            return check_mask(mask, math.prod(grid), batch_size)
        return check_mask_counts_async(
            mask,
            math.prod(grid),
            self.mask_generator.num_masked(grid),
            batch_size,
        )

    def no_weight_decay(self) -> Set[str]:
        """Names of parameters that should not get weight decay."""
        return {'pos_embed'}
