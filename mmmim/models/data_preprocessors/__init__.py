# Copyright (c) mmmim contributors. All rights reserved.
from .video_data_preprocessor import VideoDataPreprocessor

__all__ = ['VideoDataPreprocessor']
