# Copyright (c) mmmim contributors. All rights reserved.
"""Scope-safe building of nested components."""

import copy
from typing import Any

from mmengine.registry import Registry

__all__ = ['build_in_mmmim']


def build_in_mmmim(registry: Registry, cfg: Any) -> Any:
    """Build ``cfg`` with mmmim as the default scope.

    mmmim components build their children themselves; doing it inside
    mmmim's scope lets an unprefixed ``type='MAEViT'`` resolve even when
    the caller's default scope is mmdet or mmseg, while prefixed types
    (``'mmpretrain.X'``) still resolve through the root registry.

    Args:
        registry (Registry): An mmmim registry (``MODELS``,
            ``TASK_UTILS``, ...).
        cfg (Any): A config dict, or an object that is returned as is.

    Returns:
        Any: The built object.
    """
    if not isinstance(cfg, dict):
        return cfg
    with registry.switch_scope_and_registry('mmmim') as scoped:
        return scoped.build(copy.deepcopy(cfg))
