# Copyright (c) mmmim contributors. All rights reserved.
"""Mixed precision without loss scaling, on any device."""

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from mmmim.registry import OPTIM_WRAPPERS

_DTYPES = {'bfloat16': torch.bfloat16, 'float16': torch.float16}


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` that runs the forward pass under ``torch.autocast``.

    mmengine's ``AmpOptimWrapper`` refuses to start without an accelerator
    and always steps through a ``GradScaler`` (an unscale pass and a host
    sync per step). bf16 has the range of fp32 and needs no loss scaling, so
    this wrapper only enters autocast, on whatever device the model is on:
    CUDA, or CPUs with bf16 matrix units (AVX512-BF16, AMX). The optimizer
    step itself stays in fp32 on fp32 master weights.

    Args:
        dtype (str): ``'bfloat16'`` (default). ``'float16'`` is accepted for
            completeness but has no loss scaling here: use mmengine's
            ``AmpOptimWrapper`` for fp16.
        **kwargs: Passed to :class:`mmengine.optim.OptimWrapper`
            (``optimizer``, ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        if dtype not in _DTYPES:
            raise ValueError(
                f'dtype must be one of {sorted(_DTYPES)}, got {dtype!r}.'
            )
        super().__init__(**kwargs)
        self.cast_dtype = _DTYPES[dtype]

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Gradient-accumulation context of the parent plus autocast."""
        param = next(model.parameters(), None)
        device_type = param.device.type if param is not None else 'cpu'
        with (
            super().optim_context(model),
            torch.autocast(device_type=device_type, dtype=self.cast_dtype),
        ):
            yield
