# Copyright (c) mmmim contributors. All rights reserved.
"""Every transformer block of mmmim, and the one checkpointing helper.

Three block families, chosen by the official checkpoints they must load:

- timm's ViT ``Block`` (one fused qkv Linear with bias): MAE encoder and
  decoder, ConvMAE stage 3.
- timm's BEiT ``Block`` (learned q and v biases, a fixed zero k bias,
  optional layer scale ``gamma_1/2`` and an own relative position table):
  SimMIM's ViT and VideoMAE.
- :class:`WindowBlock` (global or windowed attention on a token grid with
  an additive bias): the dense-task ViT and ConvViT. timm has no block with
  this computation and these parameter names.

All three keep the official parameter names (``norm1``, ``attn.qkv``,
``attn.proj``, ``norm2``, ``mlp.fc1``, ``mlp.fc2``), so converting a
checkpoint only renames prefixes.
"""

import copy
from functools import partial
from typing import Callable, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import DropPath, Mlp
from timm.models.beit import Block as BEiTBlock
from timm.models.vision_transformer import Block as ViTBlock
from torch.utils.checkpoint import checkpoint

__all__ = [
    'build_norm_layer_cls',
    'build_vit_blocks',
    'build_qv_bias_blocks',
    'build_window_blocks',
    'WindowBlock',
    'apply_block',
    'init_vit_weights',
]

_NORM_TYPES = {'LN': nn.LayerNorm}


def build_norm_layer_cls(norm_cfg: dict) -> Callable[[int], nn.Module]:
    """Turn a ``norm_cfg`` such as ``dict(type='LN', eps=1e-6)`` into a
    ``norm_layer(num_features)`` factory.

    Raises:
        ValueError: If the norm type is not supported.
    """
    cfg = copy.deepcopy(dict(norm_cfg))
    norm_type = cfg.pop('type', None)
    if norm_type not in _NORM_TYPES:
        raise ValueError(
            f'unsupported norm type {norm_type!r}; choose from '
            f'{sorted(_NORM_TYPES)}'
        )
    # 'requires_grad' is an mmcv norm_cfg key that LayerNorm does not take.
    cfg.pop('requires_grad', None)
    return partial(_NORM_TYPES[norm_type], **cfg)


def _rates(num_layers: int, drop_path_rate: float) -> list:
    """Stochastic depth rising linearly from 0 to ``drop_path_rate``."""
    return torch.linspace(0, drop_path_rate, num_layers).tolist()


def _mlp_ratio(feedforward_channels: int, embed_dims: int) -> float:
    """The ratio whose ``int(embed_dims * ratio)`` is exactly
    ``feedforward_channels`` (the half unit absorbs float rounding)."""
    return (feedforward_channels + 0.5) / embed_dims


def build_vit_blocks(
    num_layers: int,
    embed_dims: int,
    num_heads: int,
    feedforward_channels: int,
    qkv_bias: bool = True,
    drop_path_rate: float = 0.0,
    norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
) -> nn.ModuleList:
    """``num_layers`` timm ViT blocks (fused qkv Linear, SDPA attention).

    Args:
        num_layers (int): Number of blocks.
        embed_dims (int): Token width.
        num_heads (int): Attention heads.
        feedforward_channels (int): Hidden width of the MLP.
        qkv_bias (bool): Bias of the qkv Linear. Defaults to True.
        drop_path_rate (float): Stochastic depth of the last block.
            Defaults to 0.
        norm_cfg (dict): Norm config. Defaults to LN with eps 1e-6.

    Returns:
        nn.ModuleList: The blocks; each maps ``[B, N, D]`` to ``[B, N, D]``.
    """
    norm_layer = build_norm_layer_cls(norm_cfg)
    mlp_ratio = _mlp_ratio(feedforward_channels, embed_dims)
    return nn.ModuleList(
        ViTBlock(
            embed_dims,
            num_heads,
            mlp_ratio=mlp_ratio,
            qkv_bias=qkv_bias,
            drop_path=rate,
            norm_layer=norm_layer,
        )
        for rate in _rates(num_layers, drop_path_rate)
    )


def build_qv_bias_blocks(
    num_layers: int,
    embed_dims: int,
    num_heads: int,
    mlp_ratio: float = 4.0,
    qv_bias: bool = True,
    drop_path_rate: float = 0.0,
    layer_scale_init_value: float = 0.0,
    norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
    rel_pos_grid: Optional[Tuple[int, int]] = None,
) -> nn.ModuleList:
    """``num_layers`` timm BEiT blocks (q/v biases, SDPA attention).

    ``block(x, shared_rel_pos_bias)`` takes an optional shared bias
    ``[heads, N, N]`` (SimMIM pre-training) that is added to the block's
    own table, if it has one.

    Args:
        num_layers (int): Number of blocks.
        embed_dims (int): Token width.
        num_heads (int): Attention heads.
        mlp_ratio (float): MLP width over ``embed_dims`` (the hidden size
            is ``int(embed_dims * mlp_ratio)``). Defaults to 4.
        qv_bias (bool): Learn q and v biases (the key bias is fixed at
            zero); False means no qkv bias at all. Defaults to True.
        drop_path_rate (float): Stochastic depth of the last block.
            Defaults to 0.
        layer_scale_init_value (float): Init of the layer scales
            ``gamma_1/2``; 0 builds none. Defaults to 0.
        norm_cfg (dict): Norm config. Defaults to LN with eps 1e-6.
        rel_pos_grid (Tuple[int, int], optional): Give every block its own
            relative position table (with cls rows) for this patch grid.
            Defaults to None.

    Returns:
        nn.ModuleList: The blocks.
    """
    norm_layer = build_norm_layer_cls(norm_cfg)
    return nn.ModuleList(
        BEiTBlock(
            embed_dims,
            num_heads,
            qkv_bias=qv_bias,
            mlp_ratio=mlp_ratio,
            drop_path=rate,
            init_values=layer_scale_init_value or None,
            norm_layer=norm_layer,
            window_size=rel_pos_grid,
        )
        for rate in _rates(num_layers, drop_path_rate)
    )


def build_window_blocks(
    num_layers: int,
    embed_dims: int,
    num_heads: int,
    feedforward_channels: int,
    qkv_bias: bool = True,
    drop_path_rate: float = 0.0,
    norm_eps: float = 1e-6,
) -> nn.ModuleList:
    """``num_layers`` :class:`WindowBlock` s; the arguments are those of
    :func:`build_vit_blocks`, with ``norm_eps`` for ``norm_cfg``."""
    rates = _rates(num_layers, drop_path_rate)
    mlp_ratio = _mlp_ratio(feedforward_channels, embed_dims)
    return nn.ModuleList(
        WindowBlock(embed_dims, num_heads, mlp_ratio, qkv_bias, rate, norm_eps)
        for rate in rates
    )


def window_partition(
    x: torch.Tensor, window_size: int
) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Split ``[B, H, W, C]`` into windows ``[B * nW, ws * ws, C]``
    (row-major per image), zero-padding bottom/right; also returns the
    padded grid ``(Hp, Wp)``."""
    batch_size, h, w, dims = x.shape
    pad_h, pad_w = (-h) % window_size, (-w) % window_size
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.reshape(
        batch_size,
        hp // window_size,
        window_size,
        wp // window_size,
        window_size,
        dims,
    )
    windows = x.permute(0, 1, 3, 2, 4, 5)
    return windows.reshape(-1, window_size * window_size, dims), (hp, wp)


def window_unpartition(
    windows: torch.Tensor,
    window_size: int,
    padded: Tuple[int, int],
    grid: Tuple[int, int],
) -> torch.Tensor:
    """Inverse of :func:`window_partition`: ``[B * nW, ws * ws, C]`` ->
    ``[B, H, W, C]`` with the padding cropped."""
    hp, wp = padded
    num_h, num_w = hp // window_size, wp // window_size
    dims = windows.shape[-1]
    x = windows.reshape(-1, num_h, num_w, window_size, window_size, dims)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, hp, wp, dims)
    if (hp, wp) != tuple(grid):
        x = x[:, : grid[0], : grid[1]].contiguous()
    return x


class BiasAttention(nn.Module):
    """Multi-head self-attention (SDPA) with an optional additive bias.

    Args:
        dims (int): Token width.
        num_heads (int): Heads.
        qkv_bias (bool): Bias of the fused qkv Linear. Defaults to True.
    """

    def __init__(self, dims: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        if dims % num_heads:
            raise ValueError(
                f'embed_dims {dims} is not divisible by num_heads {num_heads}'
            )
        self.num_heads = num_heads
        self.qkv = nn.Linear(dims, dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(dims, dims)

    def forward(
        self, x: torch.Tensor, bias: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """``[B, N, C]`` tokens, bias ``[heads, N, N]`` -> ``[B, N, C]``."""
        batch_size, num_tokens, dims = x.shape
        qkv = self.qkv(x).reshape(
            batch_size, num_tokens, 3, self.num_heads, -1
        )
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if bias is not None:
            bias = bias.to(q.dtype)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(x.transpose(1, 2).reshape(batch_size, -1, dims))


class WindowBlock(nn.Module):
    """A pre-norm transformer block on a token grid, global or windowed.

    Windowing happens inside the attention branch (as in ViTDet): the
    normalised tokens are split into ``window_size`` windows (zero-padded
    at the bottom/right when the grid is not a multiple), attended, merged
    and cropped; the MLP runs on the real tokens only. Without padding this
    equals the official ConvMAE detector, which runs whole blocks on
    windows, and with global attention it equals timm's ViT ``Block``.

    Args:
        dims (int): Token width.
        num_heads (int): Heads.
        mlp_ratio (float): MLP width over ``dims``. Defaults to 4.
        qkv_bias (bool): Bias of the qkv Linear. Defaults to True.
        drop_path (float): Stochastic depth rate. Defaults to 0.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-6.
    """

    def __init__(
        self,
        dims: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop_path: float = 0.0,
        norm_eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dims, eps=norm_eps)
        self.attn = BiasAttention(dims, num_heads, qkv_bias)
        self.drop_path = DropPath(drop_path) if drop_path else nn.Identity()
        self.norm2 = nn.LayerNorm(dims, eps=norm_eps)
        self.mlp = Mlp(dims, int(dims * mlp_ratio))

    def forward(
        self,
        x: torch.Tensor,
        window_size: Optional[int] = None,
        bias: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Apply the block.

        Args:
            x (torch.Tensor): Tokens on their grid ``[B, H, W, C]``.
            window_size (int, optional): Attend inside windows of this
                side; None for global attention. Defaults to None.
            bias (torch.Tensor, optional): Attention bias
                ``[heads, N, N]`` for one window (or the whole grid).
                Defaults to None.

        Returns:
            torch.Tensor: ``[B, H, W, C]``.
        """
        batch_size, h, w, dims = x.shape
        y = self.norm1(x)
        if window_size is None:
            y = self.attn(y.reshape(batch_size, h * w, dims), bias)
            y = y.reshape(batch_size, h, w, dims)
        else:
            windows, padded = window_partition(y, window_size)
            windows = self.attn(windows, bias)
            y = window_unpartition(windows, window_size, padded, (h, w))
        x = x + self.drop_path(y)
        return x + self.drop_path(self.mlp(self.norm2(x)))


def apply_block(
    block: nn.Module, x: torch.Tensor, with_cp: bool, *args
) -> torch.Tensor:
    """Run one block of any family, with activation checkpointing when
    asked and useful.

    Checkpointing recomputes the block in backward instead of storing its
    activations (less memory for about a third more compute). It is
    skipped where backward never reaches the block: under ``no_grad`` and
    for a frozen block whose input needs no gradient.

    Args:
        block (nn.Module): The block.
        x (torch.Tensor): Its input (tokens or a feature map).
        with_cp (bool): Whether to checkpoint.
        *args: Further block arguments (a mask, a window size, a bias).

    Returns:
        torch.Tensor: The block output.
    """
    if with_cp and torch.is_grad_enabled() and _needs_grad(block, x):
        return checkpoint(block, x, *args, use_reentrant=False)
    return block(x, *args)


def _needs_grad(block: nn.Module, x: torch.Tensor) -> bool:
    return x.requires_grad or any(p.requires_grad for p in block.parameters())


def init_vit_weights(module: nn.Module) -> None:
    """The official MAE init of one module (use with ``Module.apply``):
    Linear xavier-uniform with zero bias, LayerNorm weight 1 and bias 0."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        if module.weight is not None:
            nn.init.ones_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
