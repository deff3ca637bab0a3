# Copyright (c) mmmim contributors. All rights reserved.
"""ConvViT: the ConvMAE backbone for classification and dense tasks."""

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmmim.registry import MODELS

from ..utils import (
    GridRelPosBias,
    WindowBlock,
    apply_block,
    build_2d_sincos_pos_embed,
    build_norm_layer_cls,
    grid_attention_biases,
    parse_out_indices,
    resize_rel_pos_table,
)
from .base_convvit import BaseConvViT

__all__ = ['ConvViT']

BIAS_TABLES = ('windowed_rel_pos_bias', 'global_rel_pos_bias')


@MODELS.register_module()
class ConvViT(BaseConvViT):
    """The ConvMAE backbone without masking, as in the official detector.

    Same parameter names as :class:`ConvMAEViT` (a pre-trained encoder
    loads directly; its ``stage*_output_decode`` and ``norm`` are unused).
    Outputs E1-E4: the stage-1 and stage-2 maps, the stage-3 tokens as a
    map (no final norm) and a 2x2 max-pool of E3; for ConvMAE-B 256 / 384 /
    768 / 768 channels at strides 4 / 8 / 16 / 32. Stage 3 attends inside
    ``window_size`` windows except in the blocks of
    ``global_attn_indexes``, with one relative position bias table for the
    windowed blocks and one for the global blocks. Any input size divisible
    by the total patch size works: windows are padded and the position and
    global bias tables resized.

    ``img_size`` (:class:`BaseConvViT`) also sizes the global bias table
    (1024 for the official detector); checkpoints with another square
    table are resized when loaded.

    Args:
        out_type (str): ``'featmap'`` (maps ``[B, C, h, w]``) or
            ``'avg_featmap'``: the mean of the stage-3 tokens through
            ``fc_norm`` ``[B, D]`` (the official global-pool fine-tuning;
            needs ``out_indices=(2,)``). Defaults to 'featmap'.
        window_size (int, optional): Window side of the windowed blocks;
            None makes every block global (the official classifier) and
            ``global_attn_indexes`` unused. Defaults to 16.
        global_attn_indexes (Sequence[int]): Stage-3 blocks with global
            attention. Defaults to (0, 3, 6, 10), as the official detector
            runs (its ``global_attn_index=[0, 4, 8, 10]`` attribute is
            unused).
        use_rel_pos_bias (bool): Add the relative position biases.
            Defaults to True.
        qkv_bias (bool): Bias of the qkv projections. Defaults to True.
        norm_cfg (dict): Norm of the stage-3 blocks and ``fc_norm``.
            Defaults to ``dict(type='LN', eps=1e-6)``.
        pos_embed_trainable (bool): Learn ``pos_embed`` (official
            fine-tuning) instead of keeping the loaded / sin-cos table
            fixed (official detector). Defaults to False.
        exact_sincos_pos_embed (bool): Use the exact 2-D sin-cos table of
            every input grid instead of ``pos_embed`` (the loaded table,
            bicubically resized). The official detector's
            ``sincos_pos_embed=True`` meant this but only froze the loaded
            table; False (the default) reproduces the official numbers.
        **kwargs: ``arch``, ``img_size``, ``patch_sizes``,
            ``in_channels``, ``out_indices`` (which of E1-E4, 0-3),
            ``drop_path_rate``, ``frozen_stages`` (3 freezes ``fc_norm``
            too: linear probing), ``channels_last`` (E1-E3 are then
            channels-last too), ``with_cp`` and ``init_cfg``, see
            :class:`BaseConvViT`.
    """

    # The relative position tables are new in a transfer from
    # pre-training (which has none).
    fresh_on_transfer = (r'fc_norm\.', r'(global|windowed)_rel_pos_bias\.')

    def __init__(
        self,
        out_type: str = 'featmap',
        window_size: Optional[int] = 16,
        global_attn_indexes: Sequence[int] = (0, 3, 6, 10),
        use_rel_pos_bias: bool = True,
        qkv_bias: bool = True,
        norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
        pos_embed_trainable: bool = False,
        exact_sincos_pos_embed: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(
            out_type=out_type,
            pos_embed_trainable=pos_embed_trainable,
            **kwargs,
        )
        if out_type == 'avg_featmap' and self.out_indices != (2,):
            raise ValueError(
                "out_type='avg_featmap' pools the stage-3 tokens; set "
                f'out_indices=(2,), got {self.out_indices}'
            )
        if exact_sincos_pos_embed and pos_embed_trainable:
            raise ValueError(
                'exact_sincos_pos_embed uses fixed tables; it cannot be '
                'combined with pos_embed_trainable=True'
            )
        self.exact_sincos_pos_embed = exact_sincos_pos_embed
        self._sincos_cache: Dict[Tuple[int, int], torch.Tensor] = {}
        self._set_attention(window_size, global_attn_indexes)
        dims = self.embed_dims[2]
        self.blocks3 = nn.ModuleList(
            WindowBlock(
                dims,
                self.num_heads,
                self.mlp_ratio,
                qkv_bias,
                rate,
                norm_cfg.get('eps', 1e-6),
            )
            for rate in self.stage3_rates()
        )
        if use_rel_pos_bias and window_size is not None:
            self.windowed_rel_pos_bias = GridRelPosBias(
                (window_size, window_size), self.num_heads
            )
        if use_rel_pos_bias and self.global_attn_indexes:
            self.global_rel_pos_bias = GridRelPosBias(
                self.grid_size, self.num_heads
            )
        if out_type == 'avg_featmap':
            self.fc_norm = build_norm_layer_cls(norm_cfg)(dims)
        if self.channels_last:
            self.to_channels_last()
        self.register_load_state_dict_pre_hook(self._resize_bias_hook)
        self.freeze_stages()

    def _set_attention(
        self, window_size: Optional[int], global_attn_indexes: Sequence[int]
    ) -> None:
        """Validate the window size and the global block indices."""
        num_blocks = self.num_layers[2]
        self.window_size = window_size
        if window_size is None:  # every block is global
            self.global_attn_indexes = tuple(range(num_blocks))
            return
        if window_size < 1:
            raise ValueError(f'window_size must be >= 1, got {window_size}')
        indexes = parse_out_indices(global_attn_indexes, num_blocks)
        self.global_attn_indexes = tuple(sorted(set(indexes)))

    def forward(
        self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, ...]:
        """Extract E1-E4.

        Args:
            x (torch.Tensor): Images ``[B, C, H, W]``, ``H`` and ``W``
                divisible by the total patch size (16 by default).
            mask (None): Must be None; ConvViT does not mask.

        Returns:
            Tuple[torch.Tensor, ...]: One output per ``out_indices``:
            maps ``[B, C_i, H / s_i, W / s_i]`` or, with
            ``out_type='avg_featmap'``, ``([B, D],)``.
        """
        if mask is not None:
            raise ValueError(
                'ConvViT does not mask its input; use ConvMAEViT for '
                'masked pre-training'
            )
        grid = self.check_input(x)
        outs = {}
        x = self.patch_embed1(self.prepare_input(x))
        for block in self.blocks1:
            x = apply_block(block, x, self.with_cp)
        outs[0] = x
        x = self.patch_embed2(x)
        for block in self.blocks2:
            x = apply_block(block, x, self.with_cp)
        outs[1] = x
        tokens = self.stage3_tokens(x, grid)
        x = tokens.reshape(x.shape[0], grid[0], grid[1], -1)
        biases = grid_attention_biases(
            getattr(self, 'windowed_rel_pos_bias', None),
            getattr(self, 'global_rel_pos_bias', None),
            grid,
            x,
        )
        for i, block in enumerate(self.blocks3):
            if i in self.global_attn_indexes:
                x = apply_block(block, x, self.with_cp, None, biases['global'])
            else:
                window = self.window_size
                x = apply_block(
                    block, x, self.with_cp, window, biases['windowed']
                )
        if self.out_type == 'avg_featmap':
            return (self.fc_norm(x.mean(dim=(1, 2))),)
        e3 = x.permute(0, 3, 1, 2)
        outs[2] = e3 if self.channels_last else e3.contiguous()
        if 3 in self.out_indices:
            outs[3] = F.max_pool2d(outs[2], 2)
        return tuple(outs[i] for i in self.out_indices)

    def pos_embed_for(self, grid: Tuple[int, int]) -> torch.Tensor:
        """The position table of ``grid`` (see ``exact_sincos_pos_embed``)."""
        if not self.exact_sincos_pos_embed:
            return super().pos_embed_for(grid)
        table = self._sincos_cache.get(grid)
        if table is None or table.device != self.pos_embed.device:
            table = build_2d_sincos_pos_embed(grid, self.embed_dims[2])
            table = table.to(self.pos_embed.device)
            self._sincos_cache[grid] = table
        return table

    def _resize_bias_hook(
        self, module: nn.Module, state_dict: dict, prefix: str, *args
    ) -> None:
        """Resize square bias tables of a checkpoint to this model's."""
        for name in BIAS_TABLES:
            key = f'{prefix}{name}.relative_position_bias_table'
            target = getattr(self, name, None)
            if key not in state_dict or target is None:
                continue
            loaded = state_dict[key]
            if loaded.shape == target.relative_position_bias_table.shape:
                continue
            side = (int(loaded.shape[0] ** 0.5) + 1) // 2
            if (2 * side - 1) ** 2 != loaded.shape[0]:
                continue  # not square; let load_state_dict report it
            state_dict[key] = resize_rel_pos_table(
                loaded, (side, side), target.grid
            )

    def frozen_modules(self) -> list:
        """Modules frozen by ``frozen_stages``: stage 3 includes the bias
        tables and ``fc_norm`` (frozen fresh, it is the official linear
        probe's parameter-free LayerNorm)."""
        modules = super().frozen_modules()
        if self.frozen_stages >= 3:
            names = (*BIAS_TABLES, 'fc_norm')
            modules += [getattr(self, n) for n in names if hasattr(self, n)]
        return modules
