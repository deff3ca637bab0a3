# Copyright (c) mmmim contributors. All rights reserved.
from .generate_mask import GenerateMask
from .loading import LoadImageOrSkip
from .pack_video_inputs import PackVideoInputs
from .repeat_augment import RepeatAugment
from .video_loading import PyAVDecodeOrSkip, PyAVInitOrSkip

__all__ = [
    'GenerateMask',
    'LoadImageOrSkip',
    'PackVideoInputs',
    'PyAVDecodeOrSkip',
    'PyAVInitOrSkip',
    'RepeatAugment',
]
