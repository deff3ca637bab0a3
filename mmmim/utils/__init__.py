# Copyright (c) mmmim contributors. All rights reserved.
from .dist_utils import init_cpu_dist_if_needed
from .safe_checkpoint import (
    TRUST_ENV_VAR,
    install_safe_checkpoint_loader,
    safe_torch_load,
)
from .setup_env import register_all_modules

__all__ = [
    'TRUST_ENV_VAR',
    'init_cpu_dist_if_needed',
    'install_safe_checkpoint_loader',
    'safe_torch_load',
    'register_all_modules',
]
