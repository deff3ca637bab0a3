# Copyright (c) mmmim contributors. All rights reserved.
"""The SimMIM Vision Transformer encoder (BEiT-style blocks)."""

import math
from typing import Dict, Literal, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from timm.layers import trunc_normal_

from mmmim.registry import MODELS, TASK_UTILS

from ..mask_generators.global_batch import draw_global_batch_mask
from ..utils import (
    NUM_CLS_ROWS,
    LayerScaleBlock,
    PatchEmbed2d,
    RelativePositionBias,
    apply_bias_block,
    build_in_mmmim,
    build_norm_layer_cls,
    check_mask,
    grid_of,
    parse_arch,
    parse_out_indices,
    resize_rel_pos_bias_table,
    vit_layer_depth,
)

__all__ = ['SimMIMViT']

OutType = Literal['raw', 'cls_token', 'featmap', 'avg_featmap']
RelPosMode = Literal['shared', 'per_layer', 'none']
SHARED_KEY = 'rel_pos_bias.relative_position_bias_table'
TABLE = 'relative_position_bias_table'


@MODELS.register_module()
class SimMIMViT(BaseModule):
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
        out_indices (int | Sequence[int]): Blocks whose outputs are
            returned. Defaults to -1.
        final_norm (bool): Apply ``norm`` after the last block (off for the
            official mean-pooling fine-tuning). Defaults to True.
        with_cp (bool): Gradient checkpointing. Defaults to False.
        frozen_stages (int): Freeze the embeddings and the first
            ``frozen_stages`` blocks (-1: nothing). Defaults to -1.
        init_cfg (dict | list, optional): Init config. Defaults to None.
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
        out_type: OutType = 'featmap',
        out_indices: Union[int, Sequence[int]] = -1,
        final_norm: bool = True,
        with_cp: bool = False,
        frozen_stages: int = -1,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        arch_cfg = parse_arch(arch, self.arch_zoo, 'SimMIMViT')
        for name, value, choices in (
            ('out_type', out_type, self.out_types),
            ('rel_pos_bias', rel_pos_bias, self.rel_pos_modes),
        ):
            if value not in choices:
                raise ValueError(
                    f'unknown {name} {value!r}; choose from {choices}'
                )
        self.embed_dims = arch_cfg['embed_dims']
        self.num_layers = arch_cfg['num_layers']
        self.patch_size = patch_size
        self.grid_size = grid_of(img_size, patch_size)
        self.out_type = out_type
        self.out_indices = parse_out_indices(out_indices, self.num_layers)
        self.rel_pos_mode = rel_pos_bias
        self.with_cp = with_cp
        self.frozen_stages = frozen_stages
        self.mask_generator = build_in_mmmim(TASK_UTILS, mask_generator)
        self._init_layers(
            arch_cfg,
            use_mask_token,
            in_channels,
            qkv_bias,
            drop_path_rate,
            layer_scale_init_value,
            use_abs_pos_embed,
            norm_cfg,
            final_norm,
        )
        self.register_load_state_dict_pre_hook(self._adapt_tables_hook)
        self._freeze_stages()

    def _init_layers(
        self,
        arch_cfg: dict,
        use_mask_token: bool,
        in_channels: int,
        qkv_bias: bool,
        drop_path_rate: float,
        layer_scale_init_value: float,
        use_abs_pos_embed: bool,
        norm_cfg: dict,
        final_norm: bool,
    ) -> None:
        """Create the parameters under their official names."""
        dims, heads = self.embed_dims, arch_cfg['num_heads']
        self.patch_embed = PatchEmbed2d(in_channels, dims, self.patch_size)
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
            if self.rel_pos_mode == 'shared'
            else None
        )
        norm_layer = build_norm_layer_cls(norm_cfg)
        rates = torch.linspace(0, drop_path_rate, self.num_layers).tolist()
        own = self.grid_size if self.rel_pos_mode == 'per_layer' else None
        self.blocks = nn.ModuleList(
            LayerScaleBlock(
                dims,
                heads,
                arch_cfg['feedforward_channels'],
                qkv_bias=qkv_bias,
                drop_path=rate,
                layer_scale_init_value=layer_scale_init_value,
                window_size=own,
                norm_layer=norm_layer,
            )
            for rate in rates
        )
        self.norm = norm_layer(dims) if final_norm else None
        if self.out_type == 'avg_featmap':
            self.fc_norm = norm_layer(dims)

    def init_weights(self) -> None:
        """The official SimMIM ViT init, then ``init_cfg``.

        Linear and conv weights, the cls and mask tokens are drawn from a
        normal of std 0.02 truncated at +-1 std (the SimMIM subclass
        narrows BEiT's truncation); biases 0; norms 1/0; the residual
        projections of block ``i`` are divided by ``sqrt(2 (i + 1))``.
        Relative position tables, q/v biases start at 0, layer scales at
        ``layer_scale_init_value``.
        """
        if not self._is_init:
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
        super().init_weights()

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
        batch_size, num_tokens, _ = tokens.shape
        if mask is None and self.mask_generator is not None:
            mask = draw_global_batch_mask(
                self.mask_generator, batch_size, grid, device=x.device
            )
        if mask is not None:
            check_mask(mask, num_tokens, batch_size, equal_counts=False)
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
        outs = []
        for i, block in enumerate(self.blocks):
            x = apply_bias_block(block, x, bias, self.with_cp)
            if i == self.num_layers - 1 and self.norm is not None:
                x = self.norm(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, grid))
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
            return patch_tokens.transpose(1, 2).reshape(x.shape[0], -1, *grid)
        return self.fc_norm(patch_tokens.mean(dim=1))

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

    def _freeze_stages(self) -> None:
        """Freeze the embeddings and the first ``frozen_stages`` blocks."""
        if self.frozen_stages < 0:
            return
        frozen = [self.patch_embed, *self.blocks[: self.frozen_stages]]
        if self.rel_pos_bias is not None:
            frozen.append(self.rel_pos_bias)
        if self.frozen_stages >= self.num_layers and self.norm is not None:
            frozen.append(self.norm)
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False
        for param in (self.cls_token, self.mask_token, self.pos_embed):
            if param is not None:
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'SimMIMViT':
        """Set train mode, keeping frozen blocks in eval mode."""
        super().train(mode)
        self._freeze_stages()
        return self

    def no_weight_decay(self) -> Set[str]:
        """Parameters the official recipe keeps free of weight decay.

        Only ``pos_embed`` and ``cls_token`` (plus every 1-D parameter,
        which configs handle with ``flat_decay_mult=0``); the mask token and
        the relative position tables are decayed as in the official code.
        """
        return {'pos_embed', 'cls_token'}

    def get_layer_depth(
        self, param_name: str, prefix: str = ''
    ) -> Tuple[int, int]:
        """Layer depth of a parameter, for layer-wise lr decay.

        As the official ``get_vit_layer``: 0 for the tokens and the patch
        embedding, ``i + 1`` for ``blocks.i`` (including per-layer tables),
        ``num_layers + 1`` for the shared table and everything else.

        Args:
            param_name (str): The full parameter name.
            prefix (str): The prefix of this backbone in the model.
                Defaults to ''.

        Returns:
            Tuple[int, int]: The layer id and ``num_layers + 2``.
        """
        return vit_layer_depth(param_name, prefix, self.num_layers)


def _trunc_normal(tensor: torch.Tensor, std: float = 0.02) -> None:
    """Normal init truncated at +-1 std, as the official SimMIM ViT."""
    trunc_normal_(tensor, mean=0.0, std=std, a=-std, b=std)
