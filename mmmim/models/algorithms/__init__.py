# Copyright (c) mmmim contributors. All rights reserved.
from .base import BaseMIM
from .convmae import ConvMAE
from .mae import MAE
from .simmim import SimMIM

__all__ = ['BaseMIM', 'ConvMAE', 'MAE', 'SimMIM']
