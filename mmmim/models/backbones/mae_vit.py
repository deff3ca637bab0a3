# Copyright (c) mmmim contributors. All rights reserved.
"""The MAE Vision Transformer encoder."""

from typing import Dict, Literal, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import BaseModule

from mmmim.registry import MODELS, TASK_UTILS

from ..mask_generators.global_batch import draw_global_batch_mask
from ..utils import (
    PatchEmbed2d,
    apply_block,
    build_2d_sincos_pos_embed,
    build_in_mmmim,
    build_norm_layer_cls,
    build_vit_blocks,
    check_mask,
    gather_tokens,
    grid_of,
    init_vit_weights,
    is_pretrained_cfg,
    load_pretrained,
    mask_to_ids,
    parse_arch,
    parse_out_indices,
    resize_pos_embed,
    vit_layer_depth,
)
from ..utils.windowed_vit import (
    WindowedRelPosBias,
    build_window_blocks,
    check_global_indexes,
    run_window_block,
)

__all__ = ['MAEViT']

OutType = Literal['raw', 'cls_token', 'featmap', 'avg_featmap']


@MODELS.register_module()
class MAEViT(BaseModule):
    """Vision Transformer encoder of MAE.

    In pre-training the encoder runs only on the visible tokens (the paper's
    key saving); with ``encoder_mask_token=True`` it instead sees all tokens
    with a learned mask token in place of the masked ones (the paper's
    ablation). Without a mask generator and without a mask it is a plain
    ViT for fine-tuning, linear probing and dense tasks.

    Parameter names follow the official MAE code (``patch_embed.proj``,
    ``cls_token``, ``pos_embed``, ``blocks.i.*``, ``norm``), so converting
    an official checkpoint only renames prefixes.

    Args:
        arch (str | dict): ``'b'``, ``'l'``, ``'h'`` or a dict with
            ``embed_dims``, ``num_layers``, ``num_heads`` and
            ``feedforward_channels``. Defaults to 'b'.
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
        out_type (str): Plain-mode output: ``'raw'`` ``[B, 1 + L, D]``,
            ``'cls_token'`` ``[B, D]``, ``'featmap'`` ``[B, D, h, w]`` or
            ``'avg_featmap'`` (mean of patch tokens through ``fc_norm``)
            ``[B, D]``. Defaults to 'cls_token'.
        out_indices (int | Sequence[int]): Blocks whose outputs are
            returned in plain mode; negative values count from the end.
            Defaults to -1.
        final_norm (bool): Apply ``norm`` after the last block. Set False
            for the official global-pool fine-tuning. Defaults to True.
        with_cp (bool): Gradient checkpointing of every block.
            Defaults to False.
        frozen_stages (int): Freeze the embeddings and the first
            ``frozen_stages`` blocks (-1: nothing); ``num_layers`` freezes
            the norms too (linear probing), ``num_layers - k`` fine-tunes
            the last ``k`` blocks. Defaults to -1.
        pos_embed_trainable (bool): Make ``pos_embed`` learnable, as the
            official fine-tuning does; pre-training keeps the sin-cos table
            frozen. Defaults to False.
        window_size (int, optional): Detection mode (ViTDet): the blocks
            run on the ``[B, h, w, D]`` token grid without a cls token and
            attend inside ``window_size`` windows (zero-padded at the
            bottom/right), except the ``global_attn_indexes`` blocks. Needs
            ``mask_generator=None`` and ``out_type='featmap'``; checkpoints
            load unchanged (their ``cls_token`` is reported unexpected).
            None keeps the plain ViT. Defaults to None.
        global_attn_indexes (Sequence[int]): Blocks with global attention
            in detection mode; ViTDet uses ``(2, 5, 8, 11)`` for ViT-B.
            Defaults to ().
        use_rel_pos_bias (bool): In detection mode, add a relative
            position bias: one zero-initialised table for the windowed
            blocks and one for the global blocks (the official ConvMAE
            detector's scheme). Defaults to False.
        init_cfg (dict | list, optional): Init config. A
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``
            is loaded non-strictly with a logged report (also kept in
            ``self.load_report``) and ``pos_embed`` resized to this grid.
            Defaults to None.
    """

    arch_zoo: Dict[str, dict] = {
        'b': dict(
            embed_dims=768,
            num_layers=12,
            num_heads=12,
            feedforward_channels=3072,
        ),
        'l': dict(
            embed_dims=1024,
            num_layers=24,
            num_heads=16,
            feedforward_channels=4096,
        ),
        'h': dict(
            embed_dims=1280,
            num_layers=32,
            num_heads=16,
            feedforward_channels=5120,
        ),
    }
    out_types = ('raw', 'cls_token', 'featmap', 'avg_featmap')

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
        out_type: OutType = 'cls_token',
        out_indices: Union[int, Sequence[int]] = -1,
        final_norm: bool = True,
        with_cp: bool = False,
        frozen_stages: int = -1,
        pos_embed_trainable: bool = False,
        window_size: Optional[int] = None,
        global_attn_indexes: Sequence[int] = (),
        use_rel_pos_bias: bool = False,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        arch_cfg = parse_arch(arch, self.arch_zoo, 'MAEViT')
        self.embed_dims = arch_cfg['embed_dims']
        self.num_layers = arch_cfg['num_layers']
        self.grid_size = grid_of(img_size, patch_size)
        self.patch_size = patch_size
        if out_type not in self.out_types:
            raise ValueError(
                f'unknown out_type {out_type!r}; choose from {self.out_types}'
            )
        self.out_type = out_type
        self.out_indices = parse_out_indices(out_indices, self.num_layers)
        self.encoder_mask_token = encoder_mask_token
        self.with_cp = with_cp
        self.frozen_stages = frozen_stages
        self.mask_generator = build_in_mmmim(TASK_UTILS, mask_generator)
        self._set_windows(window_size, global_attn_indexes, use_rel_pos_bias)
        self._init_layers(
            arch_cfg,
            in_channels,
            qkv_bias,
            drop_path_rate,
            norm_cfg,
            final_norm,
            pos_embed_trainable,
        )
        self.register_load_state_dict_pre_hook(self._resize_pos_embed_hook)
        self._freeze_stages()

    def _init_layers(
        self,
        arch_cfg: dict,
        in_channels: int,
        qkv_bias: bool,
        drop_path_rate: float,
        norm_cfg: dict,
        final_norm: bool,
        pos_embed_trainable: bool,
    ) -> None:
        """Create the parameters under their official names."""
        dims = self.embed_dims
        self.patch_embed = PatchEmbed2d(in_channels, dims, self.patch_size)
        if self.window_size is None:
            # Windows have no cls token: leave it out, so that DDP sees
            # no unused parameter.
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dims))
        # A fixed sin-cos table; a Parameter (not a buffer) so that its key
        # and fine-tuning behaviour match the official checkpoints.
        self.pos_embed = nn.Parameter(
            build_2d_sincos_pos_embed(self.grid_size, dims, cls_token=True),
            requires_grad=pos_embed_trainable,
        )
        if self.encoder_mask_token:
            self.mask_token = nn.Parameter(torch.zeros(1, 1, dims))
        if self.window_size is None:
            self.blocks = build_vit_blocks(
                self.num_layers,
                dims,
                arch_cfg['num_heads'],
                arch_cfg['feedforward_channels'],
                qkv_bias,
                drop_path_rate,
                norm_cfg,
            )
        else:
            self.blocks = build_window_blocks(
                self.num_layers,
                dims,
                arch_cfg['num_heads'],
                arch_cfg['feedforward_channels'],
                qkv_bias,
                drop_path_rate,
                norm_cfg.get('eps', 1e-6),
            )
        if self.use_rel_pos_bias:
            self.rel_pos_bias = WindowedRelPosBias(
                self.window_size,
                self.grid_size,
                arch_cfg['num_heads'],
                with_global=bool(self.global_attn_indexes),
            )
        norm_layer = build_norm_layer_cls(norm_cfg)
        self.norm = norm_layer(dims) if final_norm else None
        if self.out_type == 'avg_featmap':
            self.fc_norm = norm_layer(dims)

    def init_weights(self) -> None:
        """Official MAE init, then ``init_cfg`` (e.g. a checkpoint)."""
        # Before super(), whose init_cfg (a checkpoint) must win and whose
        # log reports what changed.
        if not self._is_init:
            # The conv is initialised like a Linear on its [D, C*p*p] view.
            weight = self.patch_embed.proj.weight
            nn.init.xavier_uniform_(weight.data.view(weight.shape[0], -1))
            if self.window_size is None:
                nn.init.normal_(self.cls_token, std=0.02)
            if self.encoder_mask_token:
                nn.init.normal_(self.mask_token, std=0.02)
            self.apply(init_vit_weights)
        if is_pretrained_cfg(self.init_cfg):
            # Load with a report of loaded, newly initialised, unexpected
            # and ignored keys (mmengine's loader drops most of that).
            if not self._is_init:
                self.load_report = load_pretrained(self, self.init_cfg)
                self._is_init = True
            return
        super().init_weights()

    def forward(
        self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Union[Tuple[torch.Tensor, torch.Tensor], Tuple[torch.Tensor, ...]]:
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
        pos_embed = self._pos_embed_for(grid)
        if self.window_size is not None:
            if mask is not None:
                raise ValueError(
                    'MAEViT with window_size (the detection backbone) '
                    'encodes every token and cannot take a mask; build '
                    'it without window_size for masked pre-training'
                )
            return self._forward_windowed(tokens, pos_embed, grid)
        if mask is None and self.mask_generator is None:
            return self._forward_plain(tokens, pos_embed, grid)
        return self._forward_pretrain(tokens, pos_embed, grid, mask)

    def _pos_embed_for(self, grid: Tuple[int, int]) -> torch.Tensor:
        """``pos_embed`` for ``grid``, resized when the input size differs."""
        return resize_pos_embed(self.pos_embed, self.grid_size, grid)

    def _forward_pretrain(
        self,
        tokens: torch.Tensor,
        pos_embed: torch.Tensor,
        grid: Tuple[int, int],
        mask: Optional[torch.Tensor],
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode the visible tokens (or all, in mask-token mode)."""
        batch_size, num_tokens, _ = tokens.shape
        if mask is None:
            mask, num_masked = self._draw_mask(batch_size, grid, tokens)
        else:
            num_masked = check_mask(
                mask,
                num_tokens,
                batch_size,
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
        cls_token = (self.cls_token + pos_embed[:, :1]).expand(
            batch_size, -1, -1
        )
        x = torch.cat([cls_token, tokens], dim=1)
        for block in self.blocks:
            x = apply_block(block, x, self.with_cp)
        if self.norm is not None:
            x = self.norm(x)
        return x, mask

    def _draw_mask(
        self, batch_size: int, grid: Tuple[int, int], tokens: torch.Tensor
    ) -> Tuple[torch.Tensor, Optional[int]]:
        """Draw a mask and its per-sample count without a device sync."""
        # Rows of a global-batch draw: the masks do not depend on the
        # number of processes (see draw_global_batch_mask).
        mask = draw_global_batch_mask(
            self.mask_generator, batch_size, grid, device=tokens.device
        )
        if self.encoder_mask_token:
            return mask, None
        if hasattr(self.mask_generator, 'num_masked'):
            return mask, self.mask_generator.num_masked(grid)
        # A foreign generator: validate it and read the count back once.
        return mask, check_mask(mask, grid[0] * grid[1], batch_size)

    def _forward_plain(
        self,
        tokens: torch.Tensor,
        pos_embed: torch.Tensor,
        grid: Tuple[int, int],
    ) -> Tuple[torch.Tensor, ...]:
        """Plain ViT forward on all tokens."""
        batch_size = tokens.shape[0]
        tokens = tokens + pos_embed[:, 1:]
        cls_token = (self.cls_token + pos_embed[:, :1]).expand(
            batch_size, -1, -1
        )
        x = torch.cat([cls_token, tokens], dim=1)
        outs = []
        for i, block in enumerate(self.blocks):
            x = apply_block(block, x, self.with_cp)
            if i == self.num_layers - 1 and self.norm is not None:
                x = self.norm(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, grid))
        return tuple(outs)

    def _forward_windowed(
        self,
        tokens: torch.Tensor,
        pos_embed: torch.Tensor,
        grid: Tuple[int, int],
    ) -> Tuple[torch.Tensor, ...]:
        """Detection forward: windowed and global blocks on the token
        grid, outputs ``[B, D, h, w]``."""
        x = tokens + pos_embed[:, 1:]
        x = x.reshape(x.shape[0], grid[0], grid[1], -1)
        biases = {'windowed': None, 'global': None}
        if self.use_rel_pos_bias:
            biases = self.rel_pos_bias(grid, x)
        outs = []
        for i, block in enumerate(self.blocks):
            if i in self.global_attn_indexes:
                window, bias = None, biases['global']
            else:
                window, bias = self.window_size, biases['windowed']
            x = run_window_block(block, x, window, bias, self.with_cp)
            if i == self.num_layers - 1 and self.norm is not None:
                x = self.norm(x)
            if i in self.out_indices:
                outs.append(x.permute(0, 3, 1, 2).contiguous())
        return tuple(outs)

    def _format_output(
        self, x: torch.Tensor, grid: Tuple[int, int]
    ) -> torch.Tensor:
        """Shape the tokens ``[B, 1 + L, D]`` as ``out_type`` asks."""
        if self.out_type == 'raw':
            return x
        if self.out_type == 'cls_token':
            return x[:, 0]
        patch_tokens = x[:, 1:]
        if self.out_type == 'featmap':
            batch_size, _, dims = patch_tokens.shape
            return (
                patch_tokens.reshape(batch_size, *grid, dims)
                .permute(0, 3, 1, 2)
                .contiguous()
            )
        return self.fc_norm(patch_tokens.mean(dim=1))

    def _set_windows(
        self,
        window_size: Optional[int],
        global_attn_indexes: Sequence[int],
        use_rel_pos_bias: bool,
    ) -> None:
        """Validate the detection-mode (windowed attention) arguments."""
        self.window_size = window_size
        self.use_rel_pos_bias = use_rel_pos_bias
        self.global_attn_indexes = ()
        if window_size is None:
            if use_rel_pos_bias or global_attn_indexes:
                raise ValueError(
                    'use_rel_pos_bias and global_attn_indexes need '
                    'window_size (the windowed detection mode)'
                )
            return
        if window_size < 1:
            raise ValueError(f'window_size must be >= 1, got {window_size}')
        if self.mask_generator is not None or self.encoder_mask_token:
            raise ValueError(
                'window_size (detection mode) cannot mask; set '
                'mask_generator=None and encoder_mask_token=False'
            )
        if self.out_type != 'featmap':
            raise ValueError(
                'window_size (detection mode) returns maps; set out_type='
                f"'featmap', got {self.out_type!r}"
            )
        self.global_attn_indexes = check_global_indexes(
            global_attn_indexes, self.num_layers
        )

    def _resize_pos_embed_hook(
        self, module: nn.Module, state_dict: dict, prefix: str, *args
    ) -> None:
        """Resize a checkpoint's square ``pos_embed`` to this model's grid."""
        key = prefix + 'pos_embed'
        if key not in state_dict:
            return
        loaded = state_dict[key]
        if loaded.shape == self.pos_embed.shape:
            return
        side = int((loaded.shape[1] - 1) ** 0.5)
        if side * side != loaded.shape[1] - 1:
            return  # not a square grid; let load_state_dict report it
        state_dict[key] = resize_pos_embed(loaded, side, self.grid_size)
        MMLogger.get_current_instance().info(
            f'resized {key} from a {side}x{side} grid to {self.grid_size}'
        )

    def _freeze_stages(self) -> None:
        """Freeze the embeddings and the first ``frozen_stages`` blocks."""
        if self.frozen_stages < 0:
            return
        frozen = [self.patch_embed, *self.blocks[: self.frozen_stages]]
        if self.frozen_stages >= self.num_layers:
            # The whole encoder: its output norms too (as mmpretrain's ViT;
            # a frozen fresh fc_norm is the official linear-probe LN).
            frozen.extend(
                getattr(self, name)
                for name in ('norm', 'fc_norm')
                if getattr(self, name, None) is not None
            )
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False
        for name in ('cls_token', 'pos_embed', 'mask_token'):
            if hasattr(self, name):
                getattr(self, name).requires_grad = False

    def train(self, mode: bool = True) -> 'MAEViT':
        """Set train mode, keeping frozen blocks in eval mode."""
        super().train(mode)
        self._freeze_stages()
        return self

    def no_weight_decay(self) -> Set[str]:
        """Names of parameters that should not get weight decay."""
        names = {'pos_embed', 'cls_token', 'mask_token'}
        if self.use_rel_pos_bias:
            names.add('relative_position_bias_table')
        return names

    def get_layer_depth(
        self, param_name: str, prefix: str = ''
    ) -> Tuple[int, int]:
        """Layer depth of a parameter, for layer-wise lr decay.

        Follows mmpretrain's ``LearningRateDecayOptimWrapperConstructor``
        contract and the official MAE ``lr_decay``: 0 for the embeddings,
        ``i + 1`` for ``blocks.i``, ``num_layers + 1`` for the rest.

        Args:
            param_name (str): The full parameter name.
            prefix (str): The prefix of this backbone in the model, e.g.
                ``'backbone.'``. Defaults to ''.

        Returns:
            Tuple[int, int]: The layer id and the number of depths
            (``num_layers + 2``).
        """
        return vit_layer_depth(param_name, prefix, self.num_layers)
