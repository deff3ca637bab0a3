# Copyright (c) mmmim contributors. All rights reserved.
from .jpeg_decode_data_preprocessor import JpegDecodeDataPreprocessor
from .video_data_preprocessor import VideoDataPreprocessor

__all__ = ['JpegDecodeDataPreprocessor', 'VideoDataPreprocessor']
