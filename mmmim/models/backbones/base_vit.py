# Copyright (c) mmmim contributors. All rights reserved.
"""The ViT core that every mmmim encoder derives from (see
``docs/en/add_method.md``)."""

import math
from typing import Dict, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import BaseModule

from mmmim.registry import TASK_UTILS

from ..mask_generators.global_batch import draw_global_batch_mask
from ..utils import (
    apply_block,
    build_in_mmmim,
    build_norm_layer_cls,
    check_mask,
    is_pretrained_cfg,
    load_pretrained,
    parse_arch,
    parse_out_indices,
    resize_pos_embed,
    vit_layer_depth,
)
from ..utils.backbone_args import VIT_ARCHS

__all__ = ['BaseViT', 'VIT_ARCHS']

Grid = Tuple[int, ...]


class BaseViT(BaseModule):
    """The shared part of the mmmim ViT encoders. Not registered.

    Subclasses create ``patch_embed``, ``blocks`` and their tokens, call
    :meth:`build_output_norms`, and implement ``forward``; masked
    pre-training forwards get their mask from :meth:`resolve_mask`, plain
    forwards return :meth:`run_blocks`.

    The mask rule: a mask passed in (from the data pipeline) is validated;
    otherwise it is drawn by ``mask_generator`` as rows of one global-batch
    draw (:func:`draw_global_batch_mask`), so that masks never depend on
    the number of processes. ``mask_generator`` is part of the encoder
    contract (None: the encoder does not draw masks).

    Args:
        arch (str | dict): A key of ``arch_zoo`` or a dict with
            ``embed_dims``, ``num_layers``, ``num_heads`` and
            ``feedforward_channels``. Defaults to 'b'.
        out_type (str): Plain-mode output: ``'raw'`` (all tokens
            ``[B, N, D]``), ``'cls_token'`` ``[B, D]``, ``'featmap'``
            (patch tokens on their grid ``[B, D, *grid]``) or
            ``'avg_featmap'`` (mean of the patch tokens through
            ``fc_norm``, ``[B, D]``). Defaults to 'raw'.
        out_indices (int | Sequence[int]): Blocks whose outputs are
            returned in plain mode; negative values count from the end.
            Defaults to -1.
        mask_generator (dict, optional): A ``TASK_UTILS`` generator config.
            Defaults to None.
        with_cp (bool): Gradient checkpointing of every block.
            Defaults to False.
        frozen_stages (int): Freeze the embeddings and the first
            ``frozen_stages`` blocks (-1: nothing); ``num_layers`` freezes
            the output norms too (linear probing). Defaults to -1.
        init_cfg (dict | list, optional): Init config. A
            ``dict(type='Pretrained', checkpoint=..., prefix=...)`` is loaded
            non-strictly with a logged report kept in ``self.load_report``.
            Defaults to None.
    """

    arch_zoo: Dict[str, dict] = VIT_ARCHS
    out_types: Tuple[str, ...] = ('raw', 'cls_token', 'featmap', 'avg_featmap')
    #: Tokens before the patch tokens (the cls token).
    num_extra_tokens: int = 1
    #: Tensors a transfer creates (not in a pre-training checkpoint), as
    #: regular expressions: loading a checkpoint may leave only these new.
    fresh_on_transfer: Tuple[str, ...] = (r'fc_norm\.',)
    #: Parameters frozen with the embeddings and kept out of weight decay.
    token_names: Tuple[str, ...] = ('cls_token', 'pos_embed', 'mask_token')

    def __init__(
        self,
        arch: Union[str, dict] = 'b',
        out_type: str = 'raw',
        out_indices: Union[int, Sequence[int]] = -1,
        mask_generator: Optional[dict] = None,
        with_cp: bool = False,
        frozen_stages: int = -1,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self.parse_arch(arch)
        if out_type not in self.out_types:
            raise ValueError(
                f'unknown out_type {out_type!r}; choose from {self.out_types}'
            )
        self.out_type = out_type
        self.out_indices = self.parse_out_indices(out_indices)
        self.with_cp = with_cp
        self.frozen_stages = frozen_stages
        self.mask_generator = build_in_mmmim(TASK_UTILS, mask_generator)
        self.register_load_state_dict_pre_hook(self._resize_pos_embed_hook)

    def parse_arch(self, arch: Union[str, dict]) -> dict:
        """Resolve ``arch`` and set ``embed_dims`` and ``num_layers``."""
        settings = parse_arch(arch, self.arch_zoo, type(self).__name__)
        self.embed_dims = settings['embed_dims']
        self.num_layers = settings['num_layers']
        return settings

    def parse_out_indices(self, out_indices) -> Tuple[int, ...]:
        """Block indices in ``[0, num_layers)``."""
        return parse_out_indices(out_indices, self.num_layers)

    def build_output_norms(self, norm_cfg: dict, final_norm: bool) -> None:
        """``norm`` after the last block (or None) and ``fc_norm`` of the
        pooled tokens for ``'avg_featmap'``."""
        norm_layer = build_norm_layer_cls(norm_cfg)
        self.norm = norm_layer(self.embed_dims) if final_norm else None
        if self.out_type == 'avg_featmap':
            self.fc_norm = norm_layer(self.embed_dims)

    def resolve_mask(
        self,
        mask: Optional[torch.Tensor],
        batch_size: int,
        grid: Grid,
        device: torch.device,
        equal_counts: bool = True,
    ) -> Tuple[torch.Tensor, Optional[int]]:
        """The mask of this forward and its per-sample masked count.

        Args:
            mask (torch.Tensor, optional): Bool ``[B, L]`` (True = masked)
                from the pipeline, or None to draw one.
            batch_size (int): ``B``.
            grid (tuple): The token grid; ``L`` is its product.
            device (torch.device): Where the mask lives.
            equal_counts (bool): Whether the encoder needs the same count
                in every sample (it drops tokens). Defaults to True.

        Returns:
            tuple: The mask ``[B, L]`` and the count (None when
            ``equal_counts`` is False).
        """
        num_tokens = math.prod(grid)
        if mask is not None:
            return mask, self.count_masked(
                mask, batch_size, grid, equal_counts
            )
        if self.mask_generator is None:
            raise ValueError(
                f'{type(self).__name__} needs a mask: pass one (e.g. '
                'GenerateMask in the pipeline) or configure a '
                'mask_generator'
            )
        mask = draw_global_batch_mask(
            self.mask_generator, batch_size, grid, device=device
        )
        if not equal_counts:
            return mask, None
        if hasattr(self.mask_generator, 'num_masked'):
            return mask, self.mask_generator.num_masked(grid)
        # A foreign generator: validate it and read the count back once.
        return mask, check_mask(mask, num_tokens, batch_size)

    def count_masked(
        self,
        mask: torch.Tensor,
        batch_size: int,
        grid: Grid,
        equal_counts: bool,
    ) -> Optional[int]:
        """Validate a given mask; its per-sample count if it must be equal
        (one device read-back)."""
        return check_mask(mask, math.prod(grid), batch_size, equal_counts)

    def run_blocks(
        self, x: torch.Tensor, grid: Grid, *block_args
    ) -> Tuple[torch.Tensor, ...]:
        """Run every block; one formatted output per ``out_indices``."""
        outs = []
        for i, block in enumerate(self.blocks):
            x = apply_block(block, x, self.with_cp, *block_args)
            if i == self.num_layers - 1 and self.norm is not None:
                x = self.norm(x)
            if i in self.out_indices:
                outs.append(self.format_output(x, grid))
        return tuple(outs)

    def format_output(self, x: torch.Tensor, grid: Grid) -> torch.Tensor:
        """Shape tokens ``[B, extra + L, D]`` as ``out_type`` asks."""
        if self.out_type == 'raw':
            return x
        if self.out_type == 'cls_token':
            return x[:, 0]
        patch_tokens = x[:, self.num_extra_tokens :]
        if self.out_type == 'featmap':
            return patch_tokens.transpose(1, 2).reshape(x.shape[0], -1, *grid)
        return self.fc_norm(patch_tokens.mean(dim=1))

    def init_own_weights(self) -> None:
        """The method's official random init; subclasses override."""

    def init_weights(self) -> None:
        """The official random init, then ``init_cfg``; a ``Pretrained``
        config is loaded with a report (``self.load_report``)."""
        if not self._is_init:
            self.init_own_weights()
        if is_pretrained_cfg(self.init_cfg):
            if not self._is_init:
                self.load_report = load_pretrained(self, self.init_cfg)
                self._is_init = True
            return
        super().init_weights()

    def _resize_pos_embed_hook(
        self, module: nn.Module, state_dict: dict, prefix: str, *args
    ) -> None:
        """Resize a checkpoint's square ``pos_embed`` to this model's grid."""
        key = prefix + 'pos_embed'
        own = getattr(self, 'pos_embed', None)
        if key not in state_dict or not isinstance(own, nn.Parameter):
            return
        loaded = state_dict[key]
        if loaded.shape == own.shape or loaded.dim() != 3:
            return
        extra = self.num_extra_tokens
        side = math.isqrt(loaded.shape[1] - extra)
        if side * side != loaded.shape[1] - extra:
            return  # not a square grid; let load_state_dict report it
        state_dict[key] = resize_pos_embed(
            loaded, side, self.grid_size, num_extra_tokens=extra
        )
        MMLogger.get_current_instance().info(
            f'resized {key} from a {side}x{side} grid to {self.grid_size}'
        )

    def frozen_modules(self) -> list:
        """Modules frozen by ``frozen_stages``."""
        if self.frozen_stages < 0:
            return []
        frozen = [self.patch_embed, *self.blocks[: self.frozen_stages]]
        if self.frozen_stages >= self.num_layers:
            # The whole encoder: its output norms too (a frozen fresh
            # fc_norm is the official linear probe's LayerNorm).
            frozen.extend(
                getattr(self, name)
                for name in ('norm', 'fc_norm')
                if getattr(self, name, None) is not None
            )
        return frozen

    def freeze_stages(self) -> None:
        """Freeze (eval mode, no grad) what ``frozen_stages`` asks."""
        for module in self.frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False
        if self.frozen_stages >= 0:
            for name in self.token_names:
                param = getattr(self, name, None)
                if isinstance(param, nn.Parameter):
                    param.requires_grad = False

    def train(self, mode: bool = True) -> 'BaseViT':
        """Set train mode, keeping frozen parts in eval mode."""
        super().train(mode)
        self.freeze_stages()
        return self

    def no_weight_decay(self) -> Set[str]:
        """Names of parameters that should not get weight decay."""
        return set(self.token_names)

    def get_layer_depth(
        self, param_name: str, prefix: str = ''
    ) -> Tuple[int, int]:
        """Layer depth of a parameter, for layer-wise lr decay.

        The official ``lr_decay`` of MAE, SimMIM and VideoMAE and
        mmpretrain's ``get_layer_depth`` contract: 0 for the embeddings,
        ``i + 1`` for ``blocks.i``, ``num_layers + 1`` for the rest.

        Args:
            param_name (str): The full parameter name.
            prefix (str): This backbone's prefix in the model, e.g.
                ``'backbone.'``. Defaults to ''.

        Returns:
            Tuple[int, int]: The layer id and ``num_layers + 2``.
        """
        return vit_layer_depth(param_name, prefix, self.num_layers)
