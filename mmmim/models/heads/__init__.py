# Copyright (c) mmmim contributors. All rights reserved.
from .pixel_reconstruction_head import PixelReconstructionHead
from .simmim_reconstruction_head import SimMIMReconstructionHead
from .token_reconstruction_head import TokenReconstructionHead
from .video_reconstruction_head import VideoReconstructionHead

__all__ = [
    'PixelReconstructionHead',
    'SimMIMReconstructionHead',
    'TokenReconstructionHead',
    'VideoReconstructionHead',
]
