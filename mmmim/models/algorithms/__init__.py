# Copyright (c) mmmim contributors. All rights reserved.
from .base import BaseMIM
from .mae import MAE

__all__ = ['BaseMIM', 'MAE']
