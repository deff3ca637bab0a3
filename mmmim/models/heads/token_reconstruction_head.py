# Copyright (c) mmmim contributors. All rights reserved.
"""dVAE token target and loss (the MAE token-target ablation)."""

import copy
import os.path as osp
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F

from mmmim.registry import MODELS

from ..losses import masked_cross_entropy
from ..utils import build_in_mmmim, load_pretrained
from .base_reconstruction_head import BaseReconstructionHead

__all__ = ['TokenReconstructionHead']

_DALLE_HINT = (
    'Download the DALL-E encoder weights converted for mmpretrain, e.g. '
    'https://download.openmmlab.com/mmselfsup/1.x/target_generator_ckpt/'
    'dalle_encoder.pth, and set '
    "tokenizer=dict(type='mmpretrain.DALL-E', init_cfg=dict("
    "type='Pretrained', checkpoint='/path/to/dalle_encoder.pth'))"
)


@MODELS.register_module()
class TokenReconstructionHead(BaseReconstructionHead):
    """Targets from a frozen dVAE tokenizer, with cross-entropy.

    As in BEiT, the (normalised) images are mapped back to ``[0, 1]``,
    squeezed into ``[eps, 1 - eps]`` (DALL-E's ``map_pixels``, eps 0.1),
    resized to ``8 * grid`` pixels so that the tokenizer's 8x down-sampling
    yields one token per patch, and the arg-max token of each position is
    the target. The decoder predicts vocabulary logits for every patch;
    the loss is cross-entropy over the masked patches.

    The tokenizer weights are not trained and must be supplied by the user;
    they are loaded when the head is built.

    Args:
        tokenizer (dict): Config of the tokenizer with a checkpoint, e.g.
            ``dict(type='mmpretrain.DALL-E', init_cfg=dict(
            type='Pretrained', checkpoint=PATH))``.
        patch_size (int): Patch side of the encoder. Defaults to 16.
        mean (Sequence[float]): Mean used to normalise the inputs (0-255
            RGB). Defaults to the ImageNet mean.
        std (Sequence[float]): Std used to normalise the inputs.
            Defaults to the ImageNet std.
        downsample (int): Down-sampling factor of the tokenizer.
            Defaults to 8.
        init_cfg (dict | list, optional): Init config. Defaults to None.

    Raises:
        FileNotFoundError: If the tokenizer checkpoint is missing.
    """

    map_pixels_eps = 0.1
    shape_hint = 'decoder predict_dims'

    def __init__(
        self,
        tokenizer: dict,
        patch_size: int = 16,
        mean: Sequence[float] = (123.675, 116.28, 103.53),
        std: Sequence[float] = (58.395, 57.12, 57.375),
        downsample: int = 8,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(patch_size, init_cfg)
        self.downsample = downsample
        self.register_buffer(
            'mean', torch.tensor(mean).view(1, -1, 1, 1), persistent=False
        )
        self.register_buffer(
            'std', torch.tensor(std).view(1, -1, 1, 1), persistent=False
        )
        cfg = copy.deepcopy(tokenizer)
        cfg.setdefault('type', 'mmpretrain.DALL-E')
        checkpoint = self._checkpoint_of(cfg.pop('init_cfg', None))
        self.tokenizer = build_in_mmmim(MODELS, cfg)
        self._load_tokenizer(checkpoint)
        self.tokenizer.requires_grad_(False)
        self.tokenizer.eval()

    @staticmethod
    def _checkpoint_of(init_cfg: Optional[dict]) -> str:
        """The tokenizer checkpoint; a clear error when it is missing."""
        path = (init_cfg or {}).get('checkpoint')
        if not path:
            raise FileNotFoundError(
                'TokenReconstructionHead needs pretrained tokenizer weights '
                f'but no checkpoint was given. {_DALLE_HINT}'
            )
        if '://' not in path and not osp.isfile(path):
            raise FileNotFoundError(
                f'tokenizer checkpoint {path!r} does not exist. {_DALLE_HINT}'
            )
        return path

    def _load_tokenizer(self, checkpoint: str) -> None:
        """Load the tokenizer weights now, failing on missing keys."""
        # allow_partial: the error below names the DALL-E fix instead.
        pretrained = dict(
            type='Pretrained', checkpoint=checkpoint, allow_partial=True
        )
        missing = load_pretrained(self.tokenizer, pretrained)['missing']
        if missing:
            raise KeyError(
                f'tokenizer checkpoint {checkpoint!r} lacks {len(missing)} '
                f'weights, e.g. {missing[:5]}. {_DALLE_HINT}'
            )

    def train(self, mode: bool = True) -> 'TokenReconstructionHead':
        """Set train mode; the frozen tokenizer stays in eval mode."""
        super().train(mode)
        self.tokenizer.eval()
        return self

    @torch.no_grad()
    def target(self, imgs: torch.Tensor) -> torch.Tensor:
        """Tokenise images.

        Args:
            imgs (torch.Tensor): Normalised images ``[B, C, H, W]``.

        Returns:
            torch.Tensor: Token ids ``[B, L]`` (int64), row-major.
        """
        h, w = imgs.shape[-2:]
        p = self.patch_size
        if h % p or w % p:
            raise ValueError(
                f'image size {h}x{w} is not divisible by the patch size {p}'
            )
        pixels = (imgs.float() * self.std + self.mean) / 255.0
        eps = self.map_pixels_eps
        pixels = (1 - 2 * eps) * pixels.clamp(0, 1) + eps
        size = (h // p * self.downsample, w // p * self.downsample)
        # BEiT feeds the tokenizer a second, lanczos-resized view; an
        # anti-aliased bilinear resize is the closest tensor operation.
        pixels = F.interpolate(
            pixels,
            size=size,
            mode='bilinear',
            align_corners=False,
            antialias=True,
        )
        logits = self.tokenizer(pixels)
        return logits.argmax(dim=1).flatten(1)

    def loss_from_target(
        self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Cross-entropy averaged over the masked tokens, ``pred`` logits
        ``[B, L, V]``, ``target`` ids ``[B, L]``, ``mask`` bool ``[B, L]``.
        """
        self.check_pair(pred, target, mask, slice(2))
        return masked_cross_entropy(pred, target, mask)
