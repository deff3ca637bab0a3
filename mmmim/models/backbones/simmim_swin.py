# Copyright (c) mmmim contributors. All rights reserved.
"""The Swin Transformer encoder of SimMIM (mmpretrain's Swin + mask token)."""

from typing import Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones import SwinTransformer
from mmpretrain.models.utils import resize_pos_embed

from mmmim.registry import MODELS, TASK_UTILS

from ..mask_generators.global_batch import draw_global_batch_mask
from ..utils import build_in_mmmim, check_mask, resize_rel_pos_bias_table

__all__ = ['SimMIMSwin']

TABLE = 'relative_position_bias_table'


@MODELS.register_module()
class SimMIMSwin(SwinTransformer):
    """Swin Transformer with a learned mask token, for SimMIM.

    A thin subclass of mmpretrain's ``SwinTransformer`` (its blocks, window
    attention and parameter names are reused, so mmpretrain and mmdet/mmseg
    Swin checkpoints load). It reproduces the official SimMIM
    ``SwinTransformerForSimMIM`` (converted checkpoints give the official
    outputs) and, compared with mmpretrain's ``SimMIMSwinTransformer``:

    * takes mmmim's mask convention (bool ``[B, L]`` on the token grid,
      checked with a clear error) or draws one from ``mask_generator``;
    * returns correct multi-stage outputs in masked mode as well;
    * resizes relative position tables of another window on load with the
      official SimMIM geometric bicubic interpolation without SciPy
      (mmpretrain's resizing calls ``scipy.interpolate.interp2d``, which
      SciPy 1.14 removed, so a window-6 checkpoint no longer loads into a
      window-7 mmpretrain Swin);
    * puts ``mask_token`` at layer depth 0 (official layer decay).

    Without a mask and a mask generator it is a plain Swin for
    fine-tuning and dense tasks.

    Args:
        arch (str | dict): ``'t'``, ``'s'``, ``'b'``, ``'l'`` or a dict
            with ``embed_dims``, ``depths`` and ``num_heads``.
            Defaults to 'b'.
        img_size (int | Tuple[int, int]): Expected input size.
            Defaults to 192.
        patch_size (int): Patch side. Defaults to 4.
        window_size (int): Attention window. Defaults to 6.
        mask_generator (dict, optional): A ``TASK_UTILS`` generator used
            when ``forward`` gets no mask. Defaults to None.
        use_mask_token (bool): Create ``mask_token``; turn it off for
            fine-tuning, where an unused parameter would trouble DDP.
            Defaults to True.
        drop_path_rate (float): Stochastic depth rate. Defaults to 0.
        out_indices (Sequence[int]): Stages to output. Defaults to (3,).
        **kwargs: Further arguments of mmpretrain's ``SwinTransformer``
            (``in_channels``, ``use_abs_pos_embed``,
            ``with_cp``, ``frozen_stages``, ``norm_cfg``, ``stage_cfgs``,
            ``init_cfg``, ...).
    """

    def __init__(
        self,
        arch: Union[str, dict] = 'b',
        img_size: Union[int, Tuple[int, int]] = 192,
        patch_size: int = 4,
        window_size: int = 6,
        mask_generator: Optional[dict] = None,
        use_mask_token: bool = True,
        drop_path_rate: float = 0.0,
        out_indices: Sequence[int] = (3,),
        **kwargs,
    ) -> None:
        if isinstance(out_indices, int):
            out_indices = (out_indices,)
        super().__init__(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            window_size=window_size,
            drop_path_rate=drop_path_rate,
            out_indices=tuple(i % 4 for i in out_indices),
            **kwargs,
        )
        self.patch_size = patch_size
        self.grid_size = tuple(self.patch_resolution)
        self.mask_token = (
            nn.Parameter(torch.zeros(1, 1, self.embed_dims))
            if use_mask_token
            else None
        )
        self.mask_generator = build_in_mmmim(TASK_UTILS, mask_generator)

    def init_weights(self) -> None:
        """The official init: trunc-normal (std 0.02) Linear weights, mask
        token and tables; zero biases; unit norms (skipped when
        ``init_cfg`` loads a checkpoint)."""
        super().init_weights()
        if isinstance(self.init_cfg, dict) and (
            self.init_cfg.get('type') == 'Pretrained'
        ):
            return
        if self.use_abs_pos_embed:
            trunc_normal_(self.absolute_pos_embed, std=0.02)
        if self.mask_token is not None:
            trunc_normal_(self.mask_token, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(
        self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, ...]:
        """Encode images, replacing masked patches by the mask token.

        Args:
            x (torch.Tensor): Images ``[B, C, H, W]``, ``H`` and ``W``
                divisible by the patch size.
            mask (torch.Tensor, optional): Bool ``[B, L]`` on the token
                grid ``(H / p) x (W / p)``, True = masked. Defaults to
                None: drawn from ``mask_generator`` when there is one,
                otherwise nothing is masked.

        Returns:
            Tuple[torch.Tensor, ...]: Normalised feature maps
            ``[B, C_i, H_i, W_i]`` of the ``out_indices`` stages.
        """
        h, w = x.shape[-2:]
        p = self.patch_size
        if h % p or w % p:
            raise ValueError(
                f'input size {h}x{w} is not divisible by the patch size {p}; '
                f'resize or crop the images to a multiple of {p}'
            )
        batch_size = x.shape[0]
        if mask is None and self.mask_generator is not None:
            mask = draw_global_batch_mask(
                self.mask_generator,
                batch_size,
                (h // p, w // p),
                device=x.device,
            )
        x, hw_shape = self.patch_embed(x)
        if mask is not None:
            check_mask(mask, x.shape[1], batch_size, equal_counts=False)
            if self.mask_token is None:
                raise ValueError(
                    'got a mask but the model has no mask token; build it '
                    'with use_mask_token=True'
                )
            mask_token = self.mask_token.to(x.dtype)
            x = torch.where(mask.unsqueeze(-1), mask_token, x)
        if self.use_abs_pos_embed:
            x = x + resize_pos_embed(
                self.absolute_pos_embed,
                self.patch_resolution,
                hw_shape,
                self.interpolate_mode,
                self.num_extra_tokens,
            )
        return self._forward_stages(self.drop_after_pos(x), hw_shape)

    def _forward_stages(
        self, x: torch.Tensor, hw_shape: Tuple[int, int]
    ) -> Tuple[torch.Tensor, ...]:
        """The stages of mmpretrain's ``SwinTransformer.forward``."""
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw_shape = stage(
                x, hw_shape, do_downsample=self.out_after_downsample
            )
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(x)
                out = out.view(-1, *hw_shape, self.num_features[i])
                outs.append(out.permute(0, 3, 1, 2).contiguous())
            if stage.downsample is not None and not self.out_after_downsample:
                x, hw_shape = stage.downsample(x, hw_shape)
        return tuple(outs)

    def _prepare_relative_position_bias_table(
        self, state_dict: dict, prefix: str, *args, **kwargs
    ) -> None:
        """Resize tables of another window size while loading (replaces
        mmpretrain's SciPy-based hook)."""
        logger = MMLogger.get_current_instance()
        for name, current in self.state_dict().items():
            key = prefix + name
            if not name.endswith(TABLE) or key not in state_dict:
                continue
            loaded = state_dict[key]
            if loaded.shape == current.shape:
                continue
            side = int(round(current.shape[0] ** 0.5))
            state_dict[key] = resize_rel_pos_bias_table(loaded, side)
            logger.info(
                f'resized {key} from {tuple(loaded.shape)} to '
                f'{tuple(current.shape)} (geometric bicubic)'
            )
            # The index buffer belongs to the window: rebuilt, not loaded.
            state_dict.pop(key.replace('bias_table', 'index'), None)

    def no_weight_decay(self) -> Set[str]:
        """Parameters without weight decay (official; the tables are
        excluded by keyword: ``relative_position_bias_table``)."""
        return {'absolute_pos_embed', 'mask_token'}

    def get_layer_depth(
        self, param_name: str, prefix: str = ''
    ) -> Tuple[int, int]:
        """Layer depth for layer-wise lr decay (official ``get_swin_layer``:
        the mask token with the patch embedding at 0).

        Args:
            param_name (str): The full parameter name.
            prefix (str): The prefix of this backbone. Defaults to ''.

        Returns:
            Tuple[int, int]: The layer id and ``sum(depths) + 2``.
        """
        if param_name == prefix + 'mask_token':
            return 0, sum(self.depths) + 2
        return super().get_layer_depth(param_name, prefix)
