# Copyright (c) mmmim contributors. All rights reserved.
"""Layer-wise lr decay for detectors and segmentors with mmmim backbones."""

from functools import partial
from typing import Callable, List, Optional

import torch.nn as nn
from mmpretrain.engine.optimizers import (
    LearningRateDecayOptimWrapperConstructor,
)

from mmmim.registry import OPTIM_WRAPPER_CONSTRUCTORS

__all__ = ['LayerDecayOptimWrapperConstructor']


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(
    LearningRateDecayOptimWrapperConstructor
):
    """mmpretrain's layer-decay constructor for any model with a backbone.

    mmpretrain's constructor asks the whole model for
    ``get_layer_depth``, which its classifiers have and mmdet detectors or
    mmseg segmentors do not. This one falls back to the backbone's
    ``get_layer_depth(name, prefix='backbone.')`` (every mmmim backbone
    has one), so the backbone's blocks get ``rate ** (depth - 1 - id)`` and
    the neck and heads the full lr. ``paramwise_cfg`` is mmpretrain's:
    ``layer_decay_rate``, ``norm_decay_mult``, ``bias_decay_mult``,
    ``flat_decay_mult`` and ``custom_keys`` (``decay_mult`` only).

    Example (a Mask R-CNN config)::

        optim_wrapper = dict(
            constructor='mmmim.LayerDecayOptimWrapperConstructor',
            optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.1),
            paramwise_cfg=dict(layer_decay_rate=0.8, norm_decay_mult=0.0))
    """

    def add_params(
        self,
        params: List[dict],
        module: nn.Module,
        prefix: str = '',
        get_layer_depth: Optional[Callable] = None,
        **kwargs,
    ) -> None:
        """Add the parameters of ``module`` (see mmpretrain's docs)."""
        if get_layer_depth is None and not hasattr(module, 'get_layer_depth'):
            backbone = getattr(module, 'backbone', None)
            if not hasattr(backbone, 'get_layer_depth'):
                raise NotImplementedError(
                    f'layer-wise lr decay needs {type(module).__name__} or '
                    'its backbone to have a get_layer_depth method'
                )
            get_layer_depth = partial(
                backbone.get_layer_depth, prefix='backbone.'
            )
        super().add_params(
            params, module, prefix, get_layer_depth=get_layer_depth, **kwargs
        )
