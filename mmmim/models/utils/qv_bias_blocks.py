# Copyright (c) mmmim contributors. All rights reserved.
"""Transformer blocks with separate q and v biases (BEiT / VideoMAE).

timm's BEiT ``Block`` keeps the official VideoMAE parameter names
(``attn.qkv.weight``, ``attn.q_bias``, ``attn.v_bias``, ``attn.proj``,
``norm1``, ``norm2``, ``mlp.fc1``, ``mlp.fc2``, optional ``gamma_1`` /
``gamma_2``) and a fixed zero key bias, and runs SDPA attention.
"""

import torch
import torch.nn as nn
from timm.models.beit import Block as QVBiasBlock

from .transformer import build_norm_layer_cls

__all__ = ['build_qv_bias_blocks']


def build_qv_bias_blocks(
    num_layers: int,
    embed_dims: int,
    num_heads: int,
    mlp_ratio: float = 4.0,
    qv_bias: bool = True,
    drop_path_rate: float = 0.0,
    layer_scale_init_value: float = 0.0,
    norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
) -> nn.ModuleList:
    """Build a stack of pre-norm blocks with q/v biases.

    Args:
        num_layers (int): Number of blocks.
        embed_dims (int): Token width.
        num_heads (int): Attention heads.
        mlp_ratio (float): MLP width over ``embed_dims`` (the hidden size
            is ``int(embed_dims * mlp_ratio)``, as the official code).
            Defaults to 4.
        qv_bias (bool): Learn q and v biases (the key bias is fixed at
            zero). False means no qkv bias at all. Defaults to True.
        drop_path_rate (float): Stochastic depth of the last block,
            linearly increasing from 0. Defaults to 0.
        layer_scale_init_value (float): Init of the per-channel layer
            scales ``gamma_1`` / ``gamma_2``; 0 builds none (the VideoMAE
            default). Defaults to 0.
        norm_cfg (dict): Norm config. Defaults to
            ``dict(type='LN', eps=1e-6)``.

    Returns:
        nn.ModuleList: ``num_layers`` blocks.
    """
    norm_layer = build_norm_layer_cls(norm_cfg)
    rates = torch.linspace(0, drop_path_rate, num_layers).tolist()
    init_values = layer_scale_init_value if layer_scale_init_value else None
    return nn.ModuleList(
        [
            QVBiasBlock(
                embed_dims,
                num_heads,
                qkv_bias=qv_bias,
                mlp_ratio=mlp_ratio,
                drop_path=rate,
                init_values=init_values,
                norm_layer=norm_layer,
            )
            for rate in rates
        ]
    )
