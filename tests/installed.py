# Copyright (c) mmmim contributors. All rights reserved.
"""Dependencies that ``make install`` guarantees (requirements/*.txt).

A test that needs one fails, never skips, when it is missing: a skip would
hide a broken environment. Skips remain only for what the machine may or
may not have (a GPU, a C++ compiler, a system package)::

    mmseg = require('mmseg')  # in a test: import it or fail

    @pytest.mark.requires('mmcv')  # or a module's ``pytestmark``
    def test_x(): ...
"""

import importlib
from types import ModuleType

import pytest

#: Module name -> (distribution, requirement file that installs it).
GUARANTEED = {
    'mmcv': ('mmcv==2.1.0', 'tools/misc/build_mmcv.sh'),
    'mmdet': ('mmdet', 'requirements/runtime.txt'),
    'mmpretrain': ('mmpretrain', 'requirements/runtime.txt'),
    'mmseg': ('mmsegmentation', 'requirements/tests.txt'),
    'scipy': ('scipy', 'scikit-image/scikit-learn, requirements/tests.txt'),
    'sphinx': ('sphinx', 'requirements/docs.txt'),
    'myst_parser': ('myst-parser', 'requirements/docs.txt'),
}


def require(name: str) -> ModuleType:
    """Import and return module ``name``; fail the current test (or the
    collection of a module) with the package to install if it is
    missing."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        error = exc
    top = name.split('.')[0]
    dist, source = GUARANTEED.get(top, (top, 'requirements/*.txt'))
    pytest.fail(
        f'{name} is not importable ({error}): {dist} is a guaranteed '
        f'dependency ({source}); run `make install`.',
        pytrace=False,
    )
