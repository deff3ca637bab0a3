# Copyright (c) mmmim contributors. All rights reserved.
"""The trunk shared by the ConvMAE encoder and the ConvViT backbone."""

import math
from typing import Dict, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch.utils.checkpoint import checkpoint

from ..utils import (
    build_2d_sincos_pos_embed,
    grid_of,
    init_vit_weights,
    is_pretrained_cfg,
    load_pretrained,
    resize_pos_embed,
)
from ..utils.conv_blocks import CBlock, ConvPatchEmbed

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
    if isinstance(arch, str):
        if arch.lower() not in arch_zoo:
            raise KeyError(
                f'unknown {name} arch {arch!r}; choose from '
                f'{sorted(arch_zoo)} or pass a dict with {list(ARCH_KEYS)}'
            )
        return dict(arch_zoo[arch.lower()])
    if not isinstance(arch, dict) or not set(ARCH_KEYS) <= set(arch):
        raise ValueError(
            f'a custom {name} arch must be a dict with keys '
            f'{list(ARCH_KEYS)} (embed_dims and num_layers with one value '
            f'per stage), got {arch!r}'
        )
    parsed = dict(arch)
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


class BaseConvViT(BaseModule):
    """Stages 1-2 (convolutions) and the stage-3 embedding of ConvMAE.

    Not registered. It creates the parameters under their official names
    (``patch_embed1..4``, ``blocks1``, ``blocks2``, ``pos_embed``);
    subclasses add ``blocks3`` and their heads.

    Args:
        arch (str | dict): ``'b'`` or a dict, see
            :func:`parse_convvit_arch`.
        img_size (int | Tuple[int, int]): Size the position table is built
            for; other sizes are served by bicubic resizing.
        patch_sizes (Sequence[int]): Kernel = stride of the three stage
            embeddings; their product is the token (mask) patch size.
        in_channels (int): Image channels.
        drop_path_rate (float): Stochastic depth of the last block,
            increasing linearly over all blocks of the three stages.
        pos_embed_trainable (bool): Learn ``pos_embed``; otherwise it stays
            the fixed sin-cos table (or the loaded one).
        with_cp (bool): Gradient checkpointing of every block.
        frozen_stages (int): -1: nothing; 0: ``patch_embed1``; ``k`` in
            1-3: also stages ``1..k`` (stage 3 includes ``patch_embed4``,
            ``pos_embed`` and the attention blocks).
        channels_last (bool): Keep the convolutional stages in the
            channels-last memory format (faster convolutions and free
            LayerNorm permutes).
        init_cfg (dict | list, optional): Init config.
    """

    arch_zoo: Dict[str, dict] = {
        'b': dict(
            embed_dims=(256, 384, 768),
            num_layers=(2, 2, 11),
            num_heads=12,
            mlp_ratio=4.0,
        ),
    }

    def __init__(
        self,
        arch: Union[str, dict],
        img_size: Union[int, Tuple[int, int]],
        patch_sizes: Sequence[int],
        in_channels: int,
        drop_path_rate: float,
        pos_embed_trainable: bool,
        with_cp: bool,
        frozen_stages: int,
        channels_last: bool,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        arch_cfg = parse_convvit_arch(arch, self.arch_zoo, type(self).__name__)
        self.embed_dims = arch_cfg['embed_dims']
        self.num_layers = arch_cfg['num_layers']
        self.num_heads = int(arch_cfg['num_heads'])
        self.mlp_ratio = float(arch_cfg['mlp_ratio'])
        if len(patch_sizes) != 3:
            raise ValueError(
                f'patch_sizes needs one value per stage, got {patch_sizes}'
            )
        self.patch_sizes = tuple(int(p) for p in patch_sizes)
        self.patch_size = math.prod(self.patch_sizes)
        self.grid_size = grid_of(img_size, self.patch_size)
        if not -1 <= frozen_stages <= 3:
            raise ValueError(
                f'frozen_stages must be in [-1, 3], got {frozen_stages}'
            )
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        self.channels_last = channels_last
        total = sum(self.num_layers)
        self.drop_path_rates = torch.linspace(
            0, drop_path_rate, total
        ).tolist()
        self._init_trunk(in_channels, pos_embed_trainable)
        self.register_load_state_dict_pre_hook(self._resize_pos_embed_hook)

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

    def to_channels_last(self, modules: Sequence[nn.Module]) -> None:
        """Store the conv weights of ``modules`` channels-last."""
        for module in modules:
            for sub in module.modules():
                if isinstance(sub, nn.Conv2d):
                    sub.weight.data = sub.weight.data.contiguous(
                        memory_format=torch.channels_last
                    )

    def init_weights(self) -> None:
        """Official ConvMAE init, then ``init_cfg`` (e.g. a checkpoint).

        Linear layers xavier-uniform with zero bias, LayerNorms 1/0,
        ``patch_embed3.proj`` xavier-uniform on its ``[D, C * p * p]`` view;
        the other convolutions keep PyTorch's default, as officially. A
        ``Pretrained`` ``init_cfg`` is loaded non-strictly with a logged
        report of the keys, also kept in ``self.load_report``.
        """
        if not self._is_init:
            weight = self.patch_embed3.proj.weight
            flat = torch.empty(weight.shape[0], weight[0].numel())
            nn.init.xavier_uniform_(flat)
            with torch.no_grad():
                weight.copy_(flat.view_as(weight))
            self.apply(init_vit_weights)
        if is_pretrained_cfg(self.init_cfg):
            # Load with a report of loaded, newly initialised, unexpected
            # and ignored keys (kept in self.load_report), as MAEViT.
            if not self._is_init:
                self.load_report = load_pretrained(self, self.init_cfg)
                self._is_init = True
            return
        super().init_weights()

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

    def run_block(self, block: nn.Module, x: torch.Tensor, *args):
        """Run one block, with activation checkpointing when asked."""
        if self.with_cp and x.requires_grad and torch.is_grad_enabled():
            return checkpoint(block, x, *args, use_reentrant=False)
        return block(x, *args)

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

    def _resize_pos_embed_hook(
        self, module: nn.Module, state_dict: dict, prefix: str, *args
    ) -> None:
        """Resize a checkpoint's square ``pos_embed`` to this grid."""
        key = prefix + 'pos_embed'
        if key not in state_dict:
            return
        loaded = state_dict[key]
        if loaded.shape == self.pos_embed.shape or loaded.dim() != 3:
            return
        side = math.isqrt(loaded.shape[1])
        if side * side != loaded.shape[1]:
            return  # not a square grid; let load_state_dict report it
        state_dict[key] = resize_pos_embed(
            loaded, side, self.grid_size, num_extra_tokens=0
        )
        MMLogger.get_current_instance().info(
            f'resized {key} from a {side}x{side} grid to {self.grid_size}'
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
        for module in self.frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False
        if self.frozen_stages >= 3:
            self.pos_embed.requires_grad = False

    def train(self, mode: bool = True) -> 'BaseConvViT':
        """Set train mode, keeping frozen stages in eval mode."""
        super().train(mode)
        self.freeze_stages()
        return self

    def no_weight_decay(self) -> Set[str]:
        """Names of parameters that should not get weight decay."""
        return {'pos_embed', 'relative_position_bias_table'}

    def get_layer_depth(
        self, param_name: str, prefix: str = ''
    ) -> Tuple[int, int]:
        """Layer depth of a parameter, for layer-wise lr decay.

        The official ConvMAE ``lr_decay``: the embeddings, ``pos_embed``
        and stages 1-2 are layer 0, ``blocks3.i`` is ``i + 1``, the rest
        (norms, heads) is last. Works with mmpretrain's
        ``LearningRateDecayOptimWrapperConstructor``.

        Args:
            param_name (str): The full parameter name.
            prefix (str): This backbone's prefix in the model, e.g.
                ``'backbone.'``. Defaults to ''.

        Returns:
            Tuple[int, int]: The layer id and the number of depths
            (``len(blocks3) + 2``).
        """
        num_depths = self.num_layers[2] + 2
        if not param_name.startswith(prefix):
            return num_depths - 1, num_depths
        name = param_name[len(prefix) :]
        if name in ('cls_token', 'pos_embed') or name.startswith(
            ('patch_embed', 'blocks1.', 'blocks2.')
        ):
            return 0, num_depths
        if name.startswith('blocks3.'):
            return int(name.split('.')[1]) + 1, num_depths
        return num_depths - 1, num_depths
