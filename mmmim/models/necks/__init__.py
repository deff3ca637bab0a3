# Copyright (c) mmmim contributors. All rights reserved.
from .convmae_decoder import ConvMAEDecoder
from .mae_decoder import MAEDecoder
from .simmim_decoder import SimMIMLinearDecoder
from .simple_fpn import SimpleFPN
from .videomae_decoder import VideoMAEDecoder

__all__ = [
    'ConvMAEDecoder',
    'MAEDecoder',
    'SimMIMLinearDecoder',
    'SimpleFPN',
    'VideoMAEDecoder',
]
