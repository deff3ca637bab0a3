# Copyright (c) mmmim contributors. All rights reserved.
from .checkpoint_damage import CorruptCheckpointError
from .safe_checkpoint import TRUST_ENV_VAR, safe_torch_load
from .setup_env import register_all_modules

__all__ = [
    'CorruptCheckpointError',
    'TRUST_ENV_VAR',
    'safe_torch_load',
    'register_all_modules',
]
