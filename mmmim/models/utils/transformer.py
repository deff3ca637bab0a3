# Copyright (c) mmmim contributors. All rights reserved.
"""Shared pieces of the ViT encoders and decoders.

The blocks are timm's ``Block`` (one fused qkv Linear, SDPA attention),
whose parameter names (``norm1``, ``attn.qkv``, ``attn.proj``, ``norm2``,
``mlp.fc1``, ``mlp.fc2``) match the official MAE checkpoints.
"""

import copy
from functools import partial
from typing import Callable

import torch
import torch.nn as nn
from timm.models.vision_transformer import Block
from torch.utils.checkpoint import checkpoint

__all__ = [
    'build_norm_layer_cls',
    'build_vit_blocks',
    'apply_block',
    'init_vit_weights',
]

_NORM_TYPES = {'LN': nn.LayerNorm}


def build_norm_layer_cls(norm_cfg: dict) -> Callable[[int], nn.Module]:
    """Turn a ``norm_cfg`` into a ``norm_layer(num_features)`` factory.

    Args:
        norm_cfg (dict): e.g. ``dict(type='LN', eps=1e-6)``.

    Returns:
        Callable[[int], nn.Module]: A factory taking the feature size.

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


def build_vit_blocks(
    num_layers: int,
    embed_dims: int,
    num_heads: int,
    feedforward_channels: int,
    qkv_bias: bool = True,
    drop_path_rate: float = 0.0,
    norm_cfg: dict = dict(type='LN', eps=1e-6),  # noqa: B006
) -> nn.ModuleList:
    """Build a stack of pre-norm transformer blocks.

    Args:
        num_layers (int): Number of blocks.
        embed_dims (int): Token width.
        num_heads (int): Attention heads.
        feedforward_channels (int): Hidden width of the MLP.
        qkv_bias (bool): Bias of the fused qkv Linear. Defaults to True.
        drop_path_rate (float): Stochastic depth rate of the last block,
            linearly increasing from 0. Defaults to 0.
        norm_cfg (dict): Norm config. Defaults to
            ``dict(type='LN', eps=1e-6)``.

    Returns:
        nn.ModuleList: ``num_layers`` timm ``Block`` modules.
    """
    norm_layer = build_norm_layer_cls(norm_cfg)
    rates = torch.linspace(0, drop_path_rate, num_layers).tolist()
    # timm sizes the MLP as int(dim * mlp_ratio); the half-unit offset makes
    # that exactly feedforward_channels despite float rounding.
    mlp_ratio = (feedforward_channels + 0.5) / embed_dims
    return nn.ModuleList(
        [
            Block(
                embed_dims,
                num_heads,
                mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias,
                drop_path=rate,
                norm_layer=norm_layer,
            )
            for rate in rates
        ]
    )


def apply_block(
    block: nn.Module, x: torch.Tensor, with_cp: bool
) -> torch.Tensor:
    """Run one block, with activation checkpointing when asked.

    Args:
        block (nn.Module): The block.
        x (torch.Tensor): Tokens ``[B, N, D]``.
        with_cp (bool): Recompute the block in backward instead of storing
            its activations (saves memory for about +33% compute).

    Returns:
        torch.Tensor: Tokens ``[B, N, D]``.
    """
    if with_cp and torch.is_grad_enabled():
        return checkpoint(block, x, use_reentrant=False)
    return block(x)


def init_vit_weights(module: nn.Module) -> None:
    """The official MAE init for one module (use with ``Module.apply``).

    Linear: xavier-uniform weight, zero bias; LayerNorm: weight 1, bias 0.

    Args:
        module (nn.Module): The module to initialise.
    """
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        if module.weight is not None:
            nn.init.ones_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
