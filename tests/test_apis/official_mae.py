# Copyright (c) mmmim contributors. All rights reserved.
"""A checkpoint in the official MAE format, written from the official key
names (``models_mae.py`` of facebookresearch/mae), not from mmmim's."""

from typing import Dict

import torch

#: Per block, ``name: shape`` with D the width and F the MLP width.
_BLOCK = {
    'norm1.weight': ('D',),
    'norm1.bias': ('D',),
    'attn.qkv.weight': ('3D', 'D'),
    'attn.qkv.bias': ('3D',),
    'attn.proj.weight': ('D', 'D'),
    'attn.proj.bias': ('D',),
    'norm2.weight': ('D',),
    'norm2.bias': ('D',),
    'mlp.fc1.weight': ('F', 'D'),
    'mlp.fc1.bias': ('F',),
    'mlp.fc2.weight': ('D', 'F'),
    'mlp.fc2.bias': ('D',),
}


def official_mae_state_dict(
    embed: int = 192,
    depth: int = 6,
    mlp: int = 768,
    patch: int = 8,
    num_patches: int = 64,
    dec_embed: int = 128,
    dec_depth: int = 2,
    seed: int = 0,
) -> Dict[str, torch.Tensor]:
    """Random weights under the official names (defaults: the demo model,
    ``configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py``)."""
    gen = torch.Generator().manual_seed(seed)
    shapes = {
        'cls_token': (1, 1, embed),
        'pos_embed': (1, num_patches + 1, embed),
        'patch_embed.proj.weight': (embed, 3, patch, patch),
        'patch_embed.proj.bias': (embed,),
        'norm.weight': (embed,),
        'norm.bias': (embed,),
        'mask_token': (1, 1, dec_embed),
        'decoder_pos_embed': (1, num_patches + 1, dec_embed),
        'decoder_embed.weight': (dec_embed, embed),
        'decoder_embed.bias': (dec_embed,),
        'decoder_norm.weight': (dec_embed,),
        'decoder_norm.bias': (dec_embed,),
        'decoder_pred.weight': (patch * patch * 3, dec_embed),
        'decoder_pred.bias': (patch * patch * 3,),
    }
    for prefix, width, count in (
        ('blocks', embed, depth),
        ('decoder_blocks', dec_embed, dec_depth),
    ):
        sizes = dict(D=width, F=4 * width if prefix != 'blocks' else mlp)
        sizes['3D'] = 3 * width
        for i in range(count):
            for name, dims in _BLOCK.items():
                shapes[f'{prefix}.{i}.{name}'] = tuple(sizes[d] for d in dims)
    return {
        key: torch.randn(shape, generator=gen) * 0.02
        for key, shape in shapes.items()
    }


def save_official_mae(path: str, **kwargs) -> Dict[str, torch.Tensor]:
    """Write ``{'model': state_dict}`` as the official script does."""
    state_dict = official_mae_state_dict(**kwargs)
    torch.save({'model': state_dict}, path)
    return state_dict
