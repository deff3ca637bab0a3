# Copyright (c) mmmim contributors. All rights reserved.
from .parity import (
    official_pretrain_weights,
    parity_inputs,
    summarize_prediction,
    synthesize_weights,
)

__all__ = [
    'official_pretrain_weights',
    'parity_inputs',
    'synthesize_weights',
    'summarize_prediction',
]
