# Copyright (c) mmmim contributors. All rights reserved.
"""The SimMIM Vision Transformer encoder (BEiT-style blocks)."""

import math
from typing import Literal, Optional, Set, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from timm.layers import trunc_normal_

from mmmim.registry import MODELS

from ..utils import (
    NUM_CLS_ROWS,
    PatchEmbed2d,
    RelativePositionBias,
    build_qv_bias_blocks,
    grid_of,
    resize_rel_pos_bias_table,
)
from .base_vit import BaseViT

__all__ = ['SimMIMViT']

RelPosMode = Literal['shared', 'per_layer', 'none']
SHARED_KEY = 'rel_pos_bias.relative_position_bias_table'
TABLE = 'relative_position_bias_table'


@MODELS.register_module()
class SimMIMViT(BaseViT):
    """Vision Transformer encoder of SimMIM.

    Every patch is encoded; masked patch embeddings are replaced by a
    learned ``mask_token``. As the official SimMIM ViT it has a cls token,
    no absolute position embedding, a relative position bias shared by all
    blocks (``rel_pos_bias='shared'``; fine-tuning copies it into every
    block, ``'per_layer'``), q/v biases, layer scale (``gamma_1/2``,
    initialised to 0.1) and a final norm; pre-training returns the patch
    tokens as a feature map ``[B, D, h, w]``.

    Loading a checkpoint adapts the tables to this model: a shared table
    is copied into each block when the model is ``'per_layer'``, and tables
    of another grid are resized with the official geometric bicubic
    interpolation. Parameter names follow the official code.

    Args:
        arch (str | dict): ``'b'``, ``'l'``, ``'h'`` or a dict with
            ``embed_dims``, ``num_layers``, ``num_heads`` and
            ``feedforward_channels``. Defaults to 'b'.
        img_size (int | Tuple[int, int]): Input size; the relative position
            tables are built for its patch grid. Defaults to 224.
        patch_size (int): Patch side. Defaults to 16.
        in_channels (int): Image channels. Defaults to 3.
        mask_generator (dict, optional): A ``TASK_UTILS`` generator used
            when ``forward`` gets no mask (SimMIM masks usually come from
            the data pipeline). Defaults to None.
        use_mask_token (bool): Create ``mask_token``; turn it off for
            fine-tuning, where an unused parameter would trouble DDP.
            Defaults to True.
        drop_path_rate (float): Stochastic depth of the last block.
            Defaults to 0.
        qkv_bias (bool): Learn q and v biases. Defaults to True.
        layer_scale_init_value (float): Initial layer scale; 0 disables
            it. Defaults to 0.1.
        rel_pos_bias (str): ``'shared'``, ``'per_layer'`` or ``'none'``.
            Defaults to 'shared'.
        use_abs_pos_embed (bool): Add a learned absolute position
            embedding (off in SimMIM). Defaults to False.
        norm_cfg (dict): Norm config. Defaults to
            ``dict(type='LN', eps=1e-6)``.
        out_type (str): ``'raw'`` ``[B, 1 + L, D]``, ``'cls_token'``
            ``[B, D]``, ``'featmap'`` ``[B, D, h, w]`` or ``'avg_featmap'``
            (mean of patch tokens through ``fc_norm``, the official
            fine-tuning head input) ``[B, D]``. Defaults to 'featmap'.
        final_norm (bool): Apply ``norm`` after the last block (off for the
            official mean-pooling fine-tuning). Defaults to True.
        **kwargs: ``out_indices``, ``with_cp``, ``frozen_stages`` and
            ``init_cfg``, see :class:`BaseViT`.
    """

    rel_pos_modes = ('shared', 'per_layer', 'none')

    def __init__(
        self,
        arch: Union[str, dict] = 'b',
        img_size: Union[int, Tuple[int, int]] = 224,
        patch_size: int = 16,
        in_channels: int = 3,
        mask_generator: Optional[dict] = None,
        use_mask_token: bool = True,
        drop_path_rate: float = 0.0,
        qkv_bias: bool = True,
        layer_scale_init_value: float = 0.1,
        rel_pos_bias: RelPosMode = 'shared',
        use_abs_pos_embed: bool = False,
        norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
        out_type: str = 'featmap',
        final_norm: bool = True,
        **kwargs,
    ) -> None:
        if rel_pos_bias not in self.rel_pos_modes:
            raise ValueError(
                f'unknown rel_pos_bias {rel_pos_bias!r}; choose from '
                f'{self.rel_pos_modes}'
            )
        super().__init__(
            arch, out_type=out_type, mask_generator=mask_generator, **kwargs
        )
        dims, heads = self.embed_dims, self.arch_settings['num_heads']
        self.patch_size = patch_size
        self.grid_size = grid_of(img_size, patch_size)
        self.rel_pos_mode = rel_pos_bias
        self.patch_embed = PatchEmbed2d(in_channels, dims, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dims))
        self.mask_token = (
            nn.Parameter(torch.zeros(1, 1, dims)) if use_mask_token else None
        )
        num_tokens = 1 + self.grid_size[0] * self.grid_size[1]
        self.pos_embed = (
            nn.Parameter(torch.zeros(1, num_tokens, dims))
            if use_abs_pos_embed
            else None
        )
        self.rel_pos_bias = (
            RelativePositionBias(self.grid_size, heads)
            if rel_pos_bias == 'shared'
            else None
        )
        self.blocks = build_qv_bias_blocks(
            self.num_layers,
            dims,
            heads,
            self.arch_settings['feedforward_channels'] / dims,
            qkv_bias,
            drop_path_rate,
            layer_scale_init_value,
            norm_cfg,
            self.grid_size if rel_pos_bias == 'per_layer' else None,
        )
        self.build_output_norms(norm_cfg, final_norm)
        self.register_load_state_dict_pre_hook(self._adapt_tables_hook)
        self.freeze_stages()

    def init_own_weights(self) -> None:
        """The official SimMIM ViT init.

        Linear and conv weights, the cls and mask tokens are drawn from a
        normal of std 0.02 truncated at +-1 std (the SimMIM subclass
        narrows BEiT's truncation); biases 0; norms 1/0; the residual
        projections of block ``i`` are divided by ``sqrt(2 (i + 1))``.
        Relative position tables, q/v biases start at 0, layer scales at
        ``layer_scale_init_value``.
        """
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                _trunc_normal(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for token in (self.cls_token, self.mask_token, self.pos_embed):
            if token is not None:
                _trunc_normal(token)
        with torch.no_grad():
            for i, block in enumerate(self.blocks):
                block.attn.proj.weight.div_(math.sqrt(2.0 * (i + 1)))
                block.mlp.fc2.weight.div_(math.sqrt(2.0 * (i + 1)))

    def forward(
        self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, ...]:
        """Encode images, replacing masked patches by the mask token.

        Args:
            x (torch.Tensor): Images ``[B, C, H, W]`` of the size the model
                was built for.
            mask (torch.Tensor, optional): Bool ``[B, L]``, True = masked.
                Defaults to None: drawn from ``mask_generator`` when there
                is one, otherwise nothing is masked.

        Returns:
            Tuple[torch.Tensor, ...]: One output per ``out_indices`` shaped
            by ``out_type``.
        """
        tokens, grid = self.patch_embed(x)
        if grid != self.grid_size:
            raise ValueError(
                f'SimMIMViT was built for {self.grid_size[0]}x'
                f'{self.grid_size[1]} patches (img_size '
                f'{self.grid_size[0] * self.patch_size}), got '
                f'{x.shape[-2]}x{x.shape[-1]} images; set img_size to the '
                'input size (checkpoints are resized on load)'
            )
        batch_size = tokens.shape[0]
        if mask is not None or self.mask_generator is not None:
            mask, _ = self.resolve_mask(
                mask, batch_size, grid, x.device, equal_counts=False
            )
            if self.mask_token is None:
                raise ValueError(
                    'got a mask but the model has no mask token; build it '
                    'with use_mask_token=True'
                )
            mask_token = self.mask_token.to(tokens.dtype)
            tokens = torch.where(mask.unsqueeze(-1), mask_token, tokens)
        cls_token = self.cls_token.expand(batch_size, -1, -1)
        x = torch.cat([cls_token.to(tokens.dtype), tokens], dim=1)
        if self.pos_embed is not None:
            x = x + self.pos_embed
        bias = self.rel_pos_bias() if self.rel_pos_bias is not None else None
        return self.run_blocks(x, grid, bias)

    def _adapt_tables_hook(
        self, module: nn.Module, state_dict: dict, prefix: str, *args
    ) -> None:
        """Fit a checkpoint's relative position tables to this model."""
        logger = MMLogger.get_current_instance()
        for key in [k for k in state_dict if k.startswith(prefix)]:
            if key.endswith('relative_position_index'):
                del state_dict[key]  # rebuilt from the grid
        shared = prefix + SHARED_KEY
        if self.rel_pos_mode == 'per_layer' and shared in state_dict:
            table = state_dict.pop(shared)
            for i in range(self.num_layers):
                key = f'{prefix}blocks.{i}.attn.{TABLE}'
                state_dict.setdefault(key, table.clone())
            logger.info(
                f'copied the shared {shared} into each of the '
                f'{self.num_layers} blocks'
            )
        own = self.state_dict()
        side = 2 * self.grid_size[0] - 1
        for key in list(state_dict):
            name = key[len(prefix) :]
            if not key.startswith(prefix) or not name.endswith(TABLE):
                continue
            if name not in own or own[name].shape == state_dict[key].shape:
                continue
            if self.grid_size[0] != self.grid_size[1]:
                raise ValueError(
                    f'cannot resize {key} to a non-square '
                    f'{self.grid_size} grid'
                )
            old = state_dict[key].shape
            state_dict[key] = resize_rel_pos_bias_table(
                state_dict[key], side, num_extra_tokens=NUM_CLS_ROWS
            )
            logger.info(
                f'resized {key} from {tuple(old)} to '
                f'{tuple(state_dict[key].shape)} (geometric bicubic)'
            )

    def frozen_modules(self) -> list:
        """As :class:`BaseViT`, plus the shared table with the embeddings."""
        frozen = super().frozen_modules()
        if frozen and self.rel_pos_bias is not None:
            frozen.append(self.rel_pos_bias)
        return frozen

    def no_weight_decay(self) -> Set[str]:
        """Parameters the official recipe keeps free of weight decay.

        Only ``pos_embed`` and ``cls_token`` (plus every 1-D parameter,
        which configs handle with ``flat_decay_mult=0``); the mask token and
        the relative position tables are decayed as in the official code.
        """
        return {'pos_embed', 'cls_token'}


def _trunc_normal(tensor: torch.Tensor, std: float = 0.02) -> None:
    """Normal init truncated at +-1 std, as the official SimMIM ViT."""
    trunc_normal_(tensor, mean=0.0, std=std, a=-std, b=std)
