# Copyright (c) mmmim contributors. All rights reserved.
from .random_state_hook import RandomStateHook
from .reconstruction_hook import ReconstructionVisHook

__all__ = ['RandomStateHook', 'ReconstructionVisHook']
