# Copyright (c) mmmim contributors. All rights reserved.
"""A toy fifth method, written as docs/en/add_method.md describes.

A real method registers in ``mmmim.registry.MODELS``; the toy registers in
its own child of mmengine's root (scope ``toymim``) so that the package's
registry, which other tests enumerate, stays unchanged.
"""

from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

TOY_MODELS = Registry(
    'toy model',
    parent=MMENGINE_MODELS,
    scope='toymim',
    locations=['tests.test_add_method.toy_method'],
)

from .algorithm import ToyMIM  # noqa: E402
from .decoder import ToyLinearDecoder  # noqa: E402
from .encoder import ToyViT  # noqa: E402
from .head import ToyPixelHead  # noqa: E402

__all__ = [
    'TOY_MODELS',
    'ToyMIM',
    'ToyLinearDecoder',
    'ToyPixelHead',
    'ToyViT',
]
