# Copyright (c) mmmim contributors. All rights reserved.
"""The VideoMAE Vision Transformer encoder."""

from typing import Dict, Literal, Optional, Sequence, Set, Tuple, Union

import torch
from mmengine.model import BaseModule

from mmmim.registry import MODELS, TASK_UTILS

from ..mask_generators.global_batch import draw_global_batch_mask
from ..utils import (
    CubeEmbed,
    apply_block,
    build_1d_sinusoid_pos_embed,
    build_in_mmmim,
    build_norm_layer_cls,
    build_qv_bias_blocks,
    check_mask,
    check_mask_counts_async,
    gather_tokens,
    init_vit_weights,
    is_pretrained_cfg,
    load_pretrained,
    mask_to_ids,
    parse_arch,
    parse_out_indices,
    vit_layer_depth,
)
from .mae_vit import MAEViT

__all__ = ['VideoMAEViT']

VideoOutType = Literal['raw', 'featmap', 'avg_featmap']
VideoGrid = Tuple[int, int, int]


@MODELS.register_module()
class VideoMAEViT(BaseModule):
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
        out_indices (int | Sequence[int]): Blocks whose outputs are
            returned in plain mode. Defaults to -1.
        final_norm (bool): Apply ``norm`` after the last block; the
            official mean-pooling fine-tuning has none (``fc_norm``
            instead). Defaults to True.
        with_cp (bool): Gradient checkpointing of every block.
            Defaults to False.
        frozen_stages (int): Freeze the cube embedding and the first
            ``frozen_stages`` blocks (-1: nothing; ``num_layers`` freezes
            the norms too). Defaults to -1.
        init_cfg (dict | list, optional): Init config; a ``Pretrained``
            config is loaded non-strictly with a logged report (kept in
            ``self.load_report``). Defaults to None.
    """

    # ViT-S as the official code; B/L/H share MAE's widths and depths.
    arch_zoo: Dict[str, dict] = {
        's': dict(
            embed_dims=384,
            num_layers=12,
            num_heads=6,
            feedforward_channels=1536,
        ),
        **MAEViT.arch_zoo,
    }
    out_types = ('raw', 'featmap', 'avg_featmap')

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
        out_type: VideoOutType = 'raw',
        out_indices: Union[int, Sequence[int]] = -1,
        final_norm: bool = True,
        with_cp: bool = False,
        frozen_stages: int = -1,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        arch_cfg = parse_arch(arch, self.arch_zoo, 'VideoMAEViT')
        if out_type not in self.out_types:
            raise ValueError(
                f'unknown out_type {out_type!r}; choose from {self.out_types}'
            )
        if img_size % patch_size or num_frames % tubelet_size:
            raise ValueError(
                f'img_size={img_size} must be divisible by patch_size='
                f'{patch_size} and num_frames={num_frames} by '
                f'tubelet_size={tubelet_size}'
            )
        self.embed_dims = dims = arch_cfg['embed_dims']
        self.num_layers = arch_cfg['num_layers']
        self.grid_size: VideoGrid = (
            num_frames // tubelet_size,
            img_size // patch_size,
            img_size // patch_size,
        )
        self.out_type = out_type
        self.out_indices = parse_out_indices(out_indices, self.num_layers)
        self.with_cp = with_cp
        self.frozen_stages = frozen_stages
        self.mask_generator = build_in_mmmim(TASK_UTILS, mask_generator)

        self.patch_embed = CubeEmbed(
            in_channels, dims, patch_size, tubelet_size
        )
        # Fixed and rebuilt from the grid, as in the official code: not a
        # checkpoint entry (official checkpoints hold none).
        self.register_buffer(
            'pos_embed',
            build_1d_sinusoid_pos_embed(
                self._num_tokens(self.grid_size), dims
            ),
            persistent=False,
        )
        self.blocks = build_qv_bias_blocks(
            self.num_layers,
            dims,
            arch_cfg['num_heads'],
            arch_cfg['feedforward_channels'] / dims,
            qv_bias,
            drop_path_rate,
            layer_scale_init_value,
            norm_cfg,
        )
        norm_layer = build_norm_layer_cls(norm_cfg)
        self.norm = norm_layer(dims) if final_norm else None
        if out_type == 'avg_featmap':
            self.fc_norm = norm_layer(dims)
        self._freeze_stages()

    @staticmethod
    def _num_tokens(grid: Sequence[int]) -> int:
        t, h, w = grid
        return t * h * w

    def init_weights(self) -> None:
        """Official init (xavier Linear and cube conv), then ``init_cfg``."""
        if not self._is_init:
            # The official encoder applies its Linear/LayerNorm init to
            # every module; the Conv3d keeps PyTorch's default.
            self.apply(init_vit_weights)
        if is_pretrained_cfg(self.init_cfg):
            if not self._is_init:
                self.load_report = load_pretrained(self, self.init_cfg)
                self._is_init = True
            return
        super().init_weights()

    def _pos_embed_for(
        self, grid: VideoGrid, like: torch.Tensor
    ) -> torch.Tensor:
        """The table for ``grid`` (rebuilt when the clip size differs)."""
        if tuple(grid) == self.grid_size:
            table = self.pos_embed
        else:
            table = build_1d_sinusoid_pos_embed(
                self._num_tokens(grid), self.embed_dims
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
            return self._forward_plain(tokens, grid)
        return self._forward_pretrain(tokens, grid, mask)

    def _forward_pretrain(
        self,
        tokens: torch.Tensor,
        grid: VideoGrid,
        mask: Optional[torch.Tensor],
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode the visible tokens only."""
        batch_size, num_tokens, _ = tokens.shape
        if mask is None:
            mask = draw_global_batch_mask(
                self.mask_generator, batch_size, grid, device=tokens.device
            )
            num_masked = self.mask_generator.num_masked(grid)
        elif hasattr(self.mask_generator, 'num_masked'):
            # Pipeline masks come from the same generator: check their
            # counts without reading them back from the device.
            num_masked = check_mask_counts_async(
                mask,
                num_tokens,
                self.mask_generator.num_masked(grid),
                batch_size,
            )
        else:
            num_masked = check_mask(mask, num_tokens, batch_size)
        ids_keep, _ = mask_to_ids(mask, num_tokens - num_masked)
        x = gather_tokens(tokens, ids_keep)
        for block in self.blocks:
            x = apply_block(block, x, self.with_cp)
        if self.norm is not None:
            x = self.norm(x)
        return x, mask

    def _forward_plain(
        self, x: torch.Tensor, grid: VideoGrid
    ) -> Tuple[torch.Tensor, ...]:
        """Plain video ViT on all tokens."""
        outs = []
        for i, block in enumerate(self.blocks):
            x = apply_block(block, x, self.with_cp)
            if i == self.num_layers - 1 and self.norm is not None:
                x = self.norm(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, grid))
        return tuple(outs)

    def _format_output(self, x: torch.Tensor, grid: VideoGrid) -> torch.Tensor:
        """Shape the tokens ``[B, N, D]`` as ``out_type`` asks."""
        if self.out_type == 'raw':
            return x
        if self.out_type == 'featmap':
            batch_size, _, dims = x.shape
            return (
                x.reshape(batch_size, *grid, dims)
                .permute(0, 4, 1, 2, 3)
                .contiguous()
            )
        return self.fc_norm(x.mean(dim=1))

    def _freeze_stages(self) -> None:
        """Freeze the embedding and the first ``frozen_stages`` blocks."""
        if self.frozen_stages < 0:
            return
        frozen = [self.patch_embed, *self.blocks[: self.frozen_stages]]
        if self.frozen_stages >= self.num_layers:
            frozen.extend(
                getattr(self, name)
                for name in ('norm', 'fc_norm')
                if getattr(self, name, None) is not None
            )
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'VideoMAEViT':
        """Set train mode, keeping frozen blocks in eval mode."""
        super().train(mode)
        self._freeze_stages()
        return self

    def no_weight_decay(self) -> Set[str]:
        """Names of parameters that should not get weight decay."""
        return {'pos_embed'}

    def get_layer_depth(
        self, param_name: str, prefix: str = ''
    ) -> Tuple[int, int]:
        """Layer depth of a parameter, for layer-wise lr decay.

        As the official ``LayerDecayValueAssigner``: 0 for the cube
        embedding, ``i + 1`` for ``blocks.i``, ``num_layers + 1`` for the
        rest (``fc_norm`` and the head).

        Args:
            param_name (str): The full parameter name.
            prefix (str): The prefix of this backbone in the model, e.g.
                ``'backbone.'``. Defaults to ''.

        Returns:
            Tuple[int, int]: The layer id and the number of depths
            (``num_layers + 2``).
        """
        return vit_layer_depth(param_name, prefix, self.num_layers)
