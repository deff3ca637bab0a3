# Copyright (c) mmmim contributors. All rights reserved.
"""The trunk shared by the ConvMAE encoder and the ConvViT backbone."""

import math
from typing import Dict, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn

from ..utils import (
    build_2d_sincos_pos_embed,
    grid_of,
    init_vit_weights,
    parse_arch,
    resize_pos_embed,
    vit_layer_depth,
)
from ..utils.conv_blocks import CBlock, ConvPatchEmbed
from .base_vit import BaseViT

__all__ = ['BaseConvViT', 'parse_convvit_arch']

ARCH_KEYS = ('embed_dims', 'num_layers', 'num_heads')


def parse_convvit_arch(
    arch: Union[str, dict], arch_zoo: Dict[str, dict], name: str
) -> dict:
    """Resolve a ConvViT ``arch``: a zoo key or a dict.

    A dict needs ``embed_dims`` and ``num_layers`` (three values each, one
    per stage) and ``num_heads`` (stage 3); ``mlp_ratio`` defaults to 4.

    Raises:
        KeyError: For an unknown arch name.
        ValueError: For a malformed dict.
    """
    parsed = parse_arch(arch, arch_zoo, name, ARCH_KEYS)
    for key in ('embed_dims', 'num_layers'):
        value = parsed[key]
        if not isinstance(value, (list, tuple)) or len(value) != 3:
            raise ValueError(
                f'{name} arch {key} needs three values (stages 1-3), '
                f'got {value!r}'
            )
        parsed[key] = tuple(int(v) for v in value)
    parsed.setdefault('mlp_ratio', 4.0)
    return parsed


class BaseConvViT(BaseViT):
    """Stages 1-2 (convolutions) and the stage-3 embedding of ConvMAE.

    Not registered. It creates the parameters under their official names
    (``patch_embed1..4``, ``blocks1``, ``blocks2``, ``pos_embed``);
    subclasses add ``blocks3`` and their heads.

    Args:
        arch (str | dict): ``'b'`` (256/384/768 channels, 2/2/11 blocks,
            12 heads) or a dict, see :func:`parse_convvit_arch`.
            Defaults to 'b'.
        img_size (int | Tuple[int, int]): Size the position table is built
            for; other sizes divisible by the total patch size are served
            by bicubic resizing. Defaults to 224.
        patch_sizes (Sequence[int]): Kernel = stride of the three stage
            embeddings; their product is the token (mask) patch size.
            Defaults to (4, 2, 2).
        in_channels (int): Image channels. Defaults to 3.
        drop_path_rate (float): Stochastic depth of the last block,
            increasing linearly over all blocks of the three stages.
            Defaults to 0.
        pos_embed_trainable (bool): Learn ``pos_embed``; otherwise it stays
            the fixed sin-cos table (or the loaded one). Defaults to False.
        frozen_stages (int): -1: nothing; 0: ``patch_embed1``; ``k`` in
            1-3: also stages ``1..k`` (stage 3 includes ``patch_embed4``,
            ``pos_embed`` and the attention blocks). Defaults to -1.
        channels_last (bool): Keep the convolutional stages in the
            channels-last memory format (faster convolutions and free
            LayerNorm permutes). Defaults to False.
        out_type (str): ``'featmap'`` or ``'avg_featmap'``.
            Defaults to 'featmap'.
        out_indices (Sequence[int]): Which of E1-E4 (0-3) to return.
            Defaults to (0, 1, 2, 3).
        **kwargs: ``mask_generator``, ``with_cp`` and ``init_cfg``, see
            :class:`BaseViT`.
    """

    arch_zoo: Dict[str, dict] = {
        'b': dict(
            embed_dims=(256, 384, 768),
            num_layers=(2, 2, 11),
            num_heads=12,
            mlp_ratio=4.0,
        ),
    }
    out_types = ('featmap', 'avg_featmap')
    num_extra_tokens = 0
    # pos_embed is frozen with stage 3 (see freeze_stages).
    token_names = ()

    def __init__(
        self,
        arch: Union[str, dict] = 'b',
        img_size: Union[int, Tuple[int, int]] = 224,
        patch_sizes: Sequence[int] = (4, 2, 2),
        in_channels: int = 3,
        drop_path_rate: float = 0.0,
        pos_embed_trainable: bool = False,
        frozen_stages: int = -1,
        channels_last: bool = False,
        out_type: str = 'featmap',
        out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3),
        **kwargs,
    ) -> None:
        if not -1 <= frozen_stages <= 3:
            raise ValueError(
                f'frozen_stages must be in [-1, 3], got {frozen_stages}'
            )
        super().__init__(
            arch,
            out_type=out_type,
            out_indices=out_indices,
            frozen_stages=frozen_stages,
            **kwargs,
        )
        if len(patch_sizes) != 3:
            raise ValueError(
                f'patch_sizes needs one value per stage, got {patch_sizes}'
            )
        self.patch_sizes = tuple(int(p) for p in patch_sizes)
        self.patch_size = math.prod(self.patch_sizes)
        self.grid_size = grid_of(img_size, self.patch_size)
        self.channels_last = channels_last
        total = sum(self.num_layers)
        self.drop_path_rates = torch.linspace(
            0, drop_path_rate, total
        ).tolist()
        self._init_trunk(in_channels, pos_embed_trainable)

    def parse_arch(self, arch: Union[str, dict]) -> dict:
        """Resolve ``arch``, see :func:`parse_convvit_arch`."""
        settings = parse_convvit_arch(arch, self.arch_zoo, type(self).__name__)
        self.embed_dims = settings['embed_dims']
        self.num_layers = settings['num_layers']
        self.num_heads = int(settings['num_heads'])
        self.mlp_ratio = float(settings['mlp_ratio'])
        return settings

    def parse_out_indices(self, out_indices) -> Tuple[int, ...]:
        """Indices of E1-E4 (0-3; negative ones count from the end)."""
        if isinstance(out_indices, int):
            out_indices = (out_indices,)
        for index in out_indices:
            if not -4 <= index < 4:
                raise ValueError(
                    f'out_indices {index} is out of range: ConvViT has '
                    'four outputs E1-E4 (0-3)'
                )
        return tuple(index % 4 for index in out_indices)

    def _init_trunk(self, in_channels: int, pos_embed_trainable: bool):
        """Create the patch embeddings, stages 1-2 and ``pos_embed``."""
        d1, d2, d3 = self.embed_dims
        p1, p2, p3 = self.patch_sizes
        n1, n2, _ = self.num_layers
        rates = self.drop_path_rates
        self.patch_embed1 = ConvPatchEmbed(in_channels, d1, p1)
        self.patch_embed2 = ConvPatchEmbed(d1, d2, p2)
        self.patch_embed3 = ConvPatchEmbed(d2, d3, p3)
        self.patch_embed4 = nn.Linear(d3, d3)
        self.blocks1 = nn.ModuleList(
            CBlock(d1, self.mlp_ratio, rates[i]) for i in range(n1)
        )
        self.blocks2 = nn.ModuleList(
            CBlock(d2, self.mlp_ratio, rates[n1 + i]) for i in range(n2)
        )
        # A Parameter (not a buffer) so that its key matches the official
        # checkpoints; fixed in pre-training.
        self.pos_embed = nn.Parameter(
            build_2d_sincos_pos_embed(self.grid_size, d3),
            requires_grad=pos_embed_trainable,
        )

    def stage3_rates(self) -> list:
        """Drop-path rates of the stage-3 blocks."""
        return self.drop_path_rates[self.num_layers[0] + self.num_layers[1] :]

    def to_channels_last(self) -> None:
        """Store the conv weights (stages 1-2, the embeddings, the fusion)
        channels-last."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.data = module.weight.data.contiguous(
                    memory_format=torch.channels_last
                )

    def init_own_weights(self) -> None:
        """Official ConvMAE init: Linear layers xavier-uniform with zero
        bias, LayerNorms 1/0, ``patch_embed3.proj`` xavier-uniform on its
        ``[D, C * p * p]`` view; the other convolutions keep PyTorch's
        default, as officially."""
        weight = self.patch_embed3.proj.weight
        flat = torch.empty(weight.shape[0], weight[0].numel())
        nn.init.xavier_uniform_(flat)
        with torch.no_grad():
            weight.copy_(flat.view_as(weight))
        self.apply(init_vit_weights)

    def check_input(self, x: torch.Tensor) -> Tuple[int, int]:
        """Validate images and return the stage-3 grid."""
        if x.dim() != 4:
            raise ValueError(
                f'{type(self).__name__} expects images [B, C, H, W], got '
                f'shape {tuple(x.shape)}'
            )
        return grid_of(tuple(x.shape[-2:]), self.patch_size)

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        """Switch the images to channels-last when asked."""
        if self.channels_last:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def stage3_tokens(
        self, x: torch.Tensor, grid: Tuple[int, int]
    ) -> torch.Tensor:
        """Stage-2 features -> stage-3 tokens ``[B, h * w, D]`` with
        positions (the table resized to ``grid`` when needed)."""
        x = self.patch_embed3(x).flatten(2).transpose(1, 2)
        return self.patch_embed4(x) + self.pos_embed_for(grid)

    def pos_embed_for(self, grid: Tuple[int, int]) -> torch.Tensor:
        """``pos_embed`` resized bicubically to ``grid`` when needed."""
        return resize_pos_embed(
            self.pos_embed, self.grid_size, grid, num_extra_tokens=0
        )

    def frozen_modules(self) -> list:
        """Modules frozen by ``frozen_stages``."""
        stages = [
            [self.patch_embed1],
            [self.blocks1],
            [self.patch_embed2, self.blocks2],
            [self.patch_embed3, self.patch_embed4, self.blocks3],
        ]
        return [m for stage in stages[: self.frozen_stages + 1] for m in stage]

    def freeze_stages(self) -> None:
        """Freeze the modules of ``frozen_stages`` (eval mode, no grad)."""
        super().freeze_stages()
        if self.frozen_stages >= 3:
            self.pos_embed.requires_grad = False

    def no_weight_decay(self) -> Set[str]:
        """Names of parameters that should not get weight decay."""
        return {'pos_embed', 'relative_position_bias_table'}

    def get_layer_depth(
        self, param_name: str, prefix: str = ''
    ) -> Tuple[int, int]:
        """The official ConvMAE ``lr_decay``: the embeddings and stages 1-2
        are layer 0, ``blocks3.i`` is ``i + 1``, the rest (norms, heads) is
        last, of ``len(blocks3) + 2`` (see :meth:`BaseViT.get_layer_depth`).
        """
        return vit_layer_depth(
            param_name,
            prefix,
            self.num_layers[2],
            stem_prefixes=('patch_embed', 'blocks1.', 'blocks2.'),
            blocks_prefix='blocks3.',
        )
