# Copyright (c) mmmim contributors. All rights reserved.
from .base import BaseMIM
from .convmae import ConvMAE
from .distributed import MIMDistributedDataParallel
from .mae import MAE
from .simmim import SimMIM
from .videomae import VideoMAE

__all__ = [
    'BaseMIM',
    'ConvMAE',
    'MAE',
    'MIMDistributedDataParallel',
    'SimMIM',
    'VideoMAE',
]
