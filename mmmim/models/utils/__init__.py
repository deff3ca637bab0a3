# Copyright (c) mmmim contributors. All rights reserved.
from .backbone_args import grid_of, parse_arch, parse_out_indices
from .blocks import (
    WindowBlock,
    apply_block,
    build_norm_layer_cls,
    build_qv_bias_blocks,
    build_vit_blocks,
    build_window_blocks,
    init_vit_weights,
)
from .builder import build_in_mmmim
from .cube_embed import CubeEmbed
from .grid_rel_pos_bias import (
    GridRelPosBias,
    grid_attention_biases,
    resize_rel_pos_table,
)
from .layer_depth import vit_layer_depth
from .patch_embed import PatchEmbed2d
from .patchify import patchify, unpatchify
from .pos_embed import build_2d_sincos_pos_embed, resize_pos_embed
from .pretrained import is_pretrained_cfg, load_pretrained
from .rel_pos_bias import (
    NUM_CLS_ROWS,
    RelativePositionBias,
    cubic_spline_matrix,
    geometric_offsets,
    resize_rel_pos_bias_table,
)
from .sinusoid_pos_embed import build_1d_sinusoid_pos_embed
from .token_ops import (
    check_mask,
    check_mask_counts_async,
    gather_tokens,
    mask_to_ids,
)

__all__ = [
    'grid_of',
    'parse_arch',
    'parse_out_indices',
    'build_in_mmmim',
    'CubeEmbed',
    'build_qv_bias_blocks',
    'build_1d_sinusoid_pos_embed',
    'PatchEmbed2d',
    'patchify',
    'unpatchify',
    'build_2d_sincos_pos_embed',
    'resize_pos_embed',
    'is_pretrained_cfg',
    'load_pretrained',
    'check_mask',
    'check_mask_counts_async',
    'gather_tokens',
    'mask_to_ids',
    'apply_block',
    'build_norm_layer_cls',
    'build_vit_blocks',
    'init_vit_weights',
    'vit_layer_depth',
    'WindowBlock',
    'build_window_blocks',
    'GridRelPosBias',
    'grid_attention_biases',
    'resize_rel_pos_table',
    'NUM_CLS_ROWS',
    'RelativePositionBias',
    'cubic_spline_matrix',
    'geometric_offsets',
    'resize_rel_pos_bias_table',
]
