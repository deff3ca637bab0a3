# Copyright (c) mmmim contributors. All rights reserved.
from .video_classifier import VideoClassifier

__all__ = ['VideoClassifier']
