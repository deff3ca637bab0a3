# Copyright (c) mmmim contributors. All rights reserved.
from .base_vit import BaseViT
from .convmae_vit import ConvMAEViT
from .convvit import ConvViT
from .mae_vit import MAEViT
from .simmim_swin import SimMIMSwin
from .simmim_vit import SimMIMViT
from .videomae_vit import VideoMAEViT
from .windowed_vit import WindowedViT

__all__ = [
    'BaseViT',
    'ConvMAEViT',
    'ConvViT',
    'MAEViT',
    'SimMIMSwin',
    'SimMIMViT',
    'VideoMAEViT',
    'WindowedViT',
]
