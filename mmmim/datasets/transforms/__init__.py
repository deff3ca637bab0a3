# Copyright (c) mmmim contributors. All rights reserved.
from .device_decode import LoadJpegForDeviceDecode
from .fast_crop import LoadAndRandomResizedCrop
from .generate_mask import GenerateMask
from .loading import LoadImageOrSkip
from .pack_video_inputs import PackVideoInputs
from .repeat_augment import RepeatAugment
from .video_loading import PyAVDecodeOrSkip, PyAVInitOrSkip

__all__ = [
    'GenerateMask',
    'LoadAndRandomResizedCrop',
    'LoadJpegForDeviceDecode',
    'LoadImageOrSkip',
    'PackVideoInputs',
    'PyAVDecodeOrSkip',
    'PyAVInitOrSkip',
    'RepeatAugment',
]
