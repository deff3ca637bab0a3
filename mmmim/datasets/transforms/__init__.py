# Copyright (c) mmmim contributors. All rights reserved.
from .generate_mask import GenerateMask
from .loading import LoadImageOrSkip

__all__ = ['GenerateMask', 'LoadImageOrSkip']
