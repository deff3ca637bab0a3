# Copyright (c) mmmim contributors. All rights reserved.
"""mmmim: an OpenMMLab-style toolbox for masked image modeling."""

import mmengine
from mmengine.utils import digit_version

from . import patches
from .version import __version__, version_info

MMENGINE_MIN, MMENGINE_MAX = '0.10.0', '1.0.0'
_mmengine_version = digit_version(mmengine.__version__)
if not (
    digit_version(MMENGINE_MIN)
    <= _mmengine_version
    < digit_version(MMENGINE_MAX)
):
    raise ImportError(
        f'mmengine=={mmengine.__version__} is used but incompatible with '
        f'mmmim; please install mmengine>={MMENGINE_MIN}, <{MMENGINE_MAX} '
        '(run `make install`).'
    )

# Every change to mmengine, its reasons, and why at import: mmmim/patches.py.
patches.apply()

__all__ = ['__version__', 'version_info']
