# Copyright (c) mmmim contributors. All rights reserved.
"""mmmim: an OpenMMLab-style toolbox for masked image modeling."""

import mmengine
from mmengine.utils import digit_version

from .utils.atomic_io import install_atomic_local_backend
from .utils.config_lookup import install_mmmim_config_lookup
from .utils.safe_checkpoint import install_safe_checkpoint_loader
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

# mmengine 0.10.7 calls torch.load() without weights_only; route its local
# loader through an allow-list instead of disabling the safety check.
install_safe_checkpoint_loader()
# Checkpoints and other files written through mmengine's local backend are
# written atomically (temporary file + rename).
install_atomic_local_backend()
# `mmmim::mae/...py` in `_base_` and mmengine.hub.get_config, also for
# editable installs.
install_mmmim_config_lookup()

__all__ = ['__version__', 'version_info']
