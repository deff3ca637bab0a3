# Copyright (c) mmmim contributors. All rights reserved.
from .mae_decoder import MAEDecoder

__all__ = ['MAEDecoder']
