# Copyright (c) mmmim contributors. All rights reserved.
"""The toy head: raw-pixel targets, MSE on the masked patches."""

import torch

from mmmim.models.heads import BaseReconstructionHead

from . import TOY_MODELS


@TOY_MODELS.register_module()
class ToyPixelHead(BaseReconstructionHead):
    """Pixel targets ``[B, L, p * p * 3]`` (the base's default
    ``target``); the loss averages the masked patches."""

    def loss_from_target(
        self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        per_patch = (pred - target).square().mean(dim=-1)
        return (per_patch * mask).sum() / mask.sum().clamp(min=1)
