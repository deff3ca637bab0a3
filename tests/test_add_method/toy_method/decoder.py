# Copyright (c) mmmim contributors. All rights reserved.
"""The toy decoder: one Linear from a token to its patch's pixels."""

import torch
import torch.nn as nn

from . import TOY_MODELS


@TOY_MODELS.register_module()
class ToyLinearDecoder(nn.Module):
    """A ``[B, D, h, w]`` feature map -> ``[B, L, p * p * 3]`` pixels."""

    def __init__(self, embed_dims: int, patch_size: int) -> None:
        super().__init__()
        self.proj = nn.Linear(embed_dims, patch_size * patch_size * 3)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.proj(feats.flatten(2).transpose(1, 2))
