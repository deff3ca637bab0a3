# Copyright (c) mmmim contributors. All rights reserved.
from .generate_mask import GenerateMask

__all__ = ['GenerateMask']
