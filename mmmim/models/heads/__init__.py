# Copyright (c) mmmim contributors. All rights reserved.
from .base_reconstruction_head import BaseReconstructionHead
from .pixel_reconstruction_head import PixelReconstructionHead
from .simmim_reconstruction_head import SimMIMReconstructionHead
from .token_reconstruction_head import TokenReconstructionHead
from .video_reconstruction_head import VideoReconstructionHead

__all__ = [
    'BaseReconstructionHead',
    'PixelReconstructionHead',
    'SimMIMReconstructionHead',
    'TokenReconstructionHead',
    'VideoReconstructionHead',
]
