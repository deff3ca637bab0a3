# Copyright (c) mmmim contributors. All rights reserved.
from .masked_loss import (
    masked_cross_entropy,
    masked_l1_loss,
    masked_mean,
    masked_mse_loss,
)

__all__ = [
    'masked_cross_entropy',
    'masked_l1_loss',
    'masked_mean',
    'masked_mse_loss',
]
