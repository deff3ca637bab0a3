# Copyright (c) mmmim contributors. All rights reserved.
"""The BEiT-style ViT block of SimMIM: relative position bias, layer scale.

Parameter names follow the official SimMIM/BEiT code (``attn.qkv.weight``
without bias, ``attn.q_bias``, ``attn.v_bias``, ``attn.proj``,
``attn.relative_position_bias_table``, ``gamma_1``, ``gamma_2``,
``mlp.fc1``, ``mlp.fc2``), so converted checkpoints only rename prefixes.
Attention runs through ``scaled_dot_product_attention`` with the bias as an
additive mask.
"""

from typing import Callable, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import DropPath, Mlp
from torch.utils.checkpoint import checkpoint

from .rel_pos_bias import RelativePositionBias, bias_from_table

__all__ = ['RelPosAttention', 'LayerScaleBlock', 'apply_bias_block']


class RelPosAttention(nn.Module):
    """Multi-head self-attention with q/v biases and an optional own table.

    The key projection has no bias (the official ``qkv`` Linear has none and
    a zero k-bias is concatenated), which is equivalent and cheaper.

    Args:
        embed_dims (int): Token width.
        num_heads (int): Attention heads.
        qkv_bias (bool): Learn ``q_bias`` and ``v_bias``. Defaults to True.
        window_size (Tuple[int, int], optional): Own a relative position
            bias table for this patch grid (fine-tuning layout). Defaults
            to None (no table; a shared bias may be passed to forward).
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        qkv_bias: bool = True,
        window_size: Optional[Tuple[int, int]] = None,
    ) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(
                f'embed_dims {embed_dims} is not divisible by num_heads '
                f'{num_heads}'
            )
        self.num_heads = num_heads
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(embed_dims))
            self.v_bias = nn.Parameter(torch.zeros(embed_dims))
        else:
            self.q_bias, self.v_bias = None, None
        if window_size is not None:
            # Named as the official per-layer table (fine-tuning layout).
            own = RelativePositionBias(window_size, num_heads)
            self.relative_position_bias_table = (
                own.relative_position_bias_table
            )
            self.register_buffer(
                'relative_position_index',
                own.relative_position_index,
                persistent=False,
            )
        else:
            self.relative_position_bias_table = None
        self.proj = nn.Linear(embed_dims, embed_dims)

    def forward(
        self, x: torch.Tensor, bias: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Attend.

        Args:
            x (torch.Tensor): Tokens ``[B, N, D]``.
            bias (torch.Tensor, optional): A shared additive bias
                ``[heads, N, N]``. Defaults to None.

        Returns:
            torch.Tensor: Tokens ``[B, N, D]``.
        """
        b, n, d = x.shape
        qkv_bias = None
        if self.q_bias is not None:
            zeros = torch.zeros_like(self.v_bias)
            qkv_bias = torch.cat([self.q_bias, zeros, self.v_bias])
        qkv = F.linear(x, self.qkv.weight, qkv_bias)
        q, k, v = qkv.reshape(b, n, 3, self.num_heads, -1).permute(
            2, 0, 3, 1, 4
        )
        if self.relative_position_bias_table is not None:
            own = bias_from_table(
                self.relative_position_bias_table,
                self.relative_position_index,
            )
            bias = own if bias is None else bias + own
        if bias is not None:
            bias = bias.unsqueeze(0).to(q.dtype)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(x.transpose(1, 2).reshape(b, n, d))


class LayerScaleBlock(nn.Module):
    """Pre-norm transformer block with layer scale (``gamma_1/2``).

    Args:
        embed_dims (int): Token width.
        num_heads (int): Attention heads.
        feedforward_channels (int): Hidden width of the MLP.
        qkv_bias (bool): Learn q/v biases. Defaults to True.
        drop_path (float): Stochastic depth rate. Defaults to 0.
        layer_scale_init_value (float): Initial ``gamma``; 0 turns layer
            scale off. Defaults to 0.1.
        window_size (Tuple[int, int], optional): Own a relative position
            bias table. Defaults to None.
        norm_layer (Callable): Norm factory. Defaults to ``nn.LayerNorm``.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        qkv_bias: bool = True,
        drop_path: float = 0.0,
        layer_scale_init_value: float = 0.1,
        window_size: Optional[Tuple[int, int]] = None,
        norm_layer: Callable[[int], nn.Module] = nn.LayerNorm,
    ) -> None:
        super().__init__()
        self.norm1 = norm_layer(embed_dims)
        self.attn = RelPosAttention(
            embed_dims, num_heads, qkv_bias, window_size
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0 else None
        self.norm2 = norm_layer(embed_dims)
        self.mlp = Mlp(embed_dims, feedforward_channels)
        if layer_scale_init_value > 0:
            self.gamma_1 = nn.Parameter(
                torch.full((embed_dims,), float(layer_scale_init_value))
            )
            self.gamma_2 = nn.Parameter(
                torch.full((embed_dims,), float(layer_scale_init_value))
            )
        else:
            self.gamma_1, self.gamma_2 = None, None

    def _residual(
        self, x: torch.Tensor, gamma: Optional[torch.Tensor]
    ) -> torch.Tensor:
        if gamma is not None:
            x = gamma * x
        return x if self.drop_path is None else self.drop_path(x)

    def forward(
        self, x: torch.Tensor, bias: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Apply the block.

        Args:
            x (torch.Tensor): Tokens ``[B, N, D]``.
            bias (torch.Tensor, optional): Shared attention bias
                ``[heads, N, N]``. Defaults to None.

        Returns:
            torch.Tensor: Tokens ``[B, N, D]``.
        """
        x = x + self._residual(self.attn(self.norm1(x), bias), self.gamma_1)
        return x + self._residual(self.mlp(self.norm2(x)), self.gamma_2)


def apply_bias_block(
    block: nn.Module,
    x: torch.Tensor,
    bias: Optional[torch.Tensor],
    with_cp: bool,
) -> torch.Tensor:
    """Run a :class:`LayerScaleBlock`, with activation checkpointing.

    Args:
        block (nn.Module): The block.
        x (torch.Tensor): Tokens ``[B, N, D]``.
        bias (torch.Tensor, optional): Shared attention bias.
        with_cp (bool): Recompute the block in backward.

    Returns:
        torch.Tensor: Tokens ``[B, N, D]``.
    """
    if with_cp and torch.is_grad_enabled():
        return checkpoint(block, x, bias, use_reentrant=False)
    return block(x, bias)
