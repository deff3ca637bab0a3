# Copyright (c) mmmim contributors. All rights reserved.
from .fsdp2_sharding import apply_fsdp2
from .fsdp2_strategy import FSDP2Strategy

__all__ = ['FSDP2Strategy', 'apply_fsdp2']
