# Copyright (c) mmmim contributors. All rights reserved.
"""``mmmim::`` config paths for mmengine.

mmengine resolves ``'<pkg>::<algo>/<file>.py'`` (in ``_base_`` and in
``mmengine.hub.get_config``) through ``<pkg>/.mim/model-index.yml`` and
``<pkg>/.mim/configs``, but only for the packages of its hard-coded
``MODULE2PACKAGE`` table, and it finds the package directory through the
distribution's location, which for a PEP 660 editable install is
``site-packages/mmmim`` (a folder that does not exist). Importing mmmim
adds ``mmmim`` to that table and answers the directory lookup for
``mmmim`` from the imported package itself; other packages are untouched.
"""

import os.path as osp
from typing import Callable

__all__ = ['install_mmmim_config_lookup']

PACKAGE = 'mmmim'


def _package_dir() -> str:
    """The directory of the imported mmmim package (holds ``.mim``)."""
    return osp.dirname(osp.dirname(osp.abspath(__file__)))


def _wrap(original: Callable[[str], str]) -> Callable[[str], str]:
    """``get_installed_path`` that knows where mmmim lives."""
    if getattr(original, '_mmmim_wrapped', False):
        return original

    def get_installed_path(package: str) -> str:
        if package == PACKAGE:
            return _package_dir()
        return original(package)

    get_installed_path._mmmim_wrapped = True  # type: ignore[attr-defined]
    get_installed_path.__doc__ = original.__doc__
    return get_installed_path


def install_mmmim_config_lookup() -> None:
    """Let mmengine resolve ``mmmim::`` config paths (idempotent)."""
    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils
    from mmengine.hub import hub as hub_module

    config_utils.MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)
    for module in (config_module, hub_module):
        module.get_installed_path = _wrap(module.get_installed_path)
