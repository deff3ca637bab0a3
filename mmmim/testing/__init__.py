# Copyright (c) mmmim contributors. All rights reserved.
from .parity import parity_inputs, summarize_prediction, synthesize_weights

__all__ = ['parity_inputs', 'synthesize_weights', 'summarize_prediction']
