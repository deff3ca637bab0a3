# Copyright (c) mmmim contributors. All rights reserved.
from .base import BaseMIM
from .convmae import ConvMAE
from .mae import MAE
from .simmim import SimMIM
from .videomae import VideoMAE

__all__ = ['BaseMIM', 'ConvMAE', 'MAE', 'SimMIM', 'VideoMAE']
