# Copyright (c) mmmim contributors. All rights reserved.
from .convmae_vit import ConvMAEViT
from .convvit import ConvViT
from .mae_vit import MAEViT
from .simmim_swin import SimMIMSwin
from .simmim_vit import SimMIMViT
from .videomae_vit import VideoMAEViT

__all__ = [
    'ConvMAEViT',
    'ConvViT',
    'MAEViT',
    'SimMIMSwin',
    'SimMIMViT',
    'VideoMAEViT',
]
