# Copyright (c) mmmim contributors. All rights reserved.
from .mae_vit import MAEViT

__all__ = ['MAEViT']
