# Copyright (c) mmmim contributors. All rights reserved.
"""A wheel carries configs, tools and model-index.yml under mmmim/.mim."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = (
    'setup.py',
    'MANIFEST.in',
    'pyproject.toml',
    'README.md',
    'model-index.yml',
    'requirements',
    'mmmim',
    'configs',
    'tools',
    'tests',
)


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """Build a wheel from a copy (the build replaces mmmim/.mim links with
    copies, which must not happen in the checkout)."""
    src = tmp_path_factory.mktemp('src')
    ignore = shutil.ignore_patterns('__pycache__', '.mim', '*.pyc', '*.pth')
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy(path, src / name)
    out = tmp_path_factory.mktemp('wheel')
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'wheel',
            str(src),
            '--no-deps',
            '--no-build-isolation',
            # Offline: no index, no version check (the build tools are in
            # the environment already).
            '--no-index',
            '--disable-pip-version-check',
            '-q',
            '-w',
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (whl,) = out.glob('mmmim-*.whl')
    return zipfile.ZipFile(whl)


def test_wheel_has_mim_content(wheel):
    names = set(wheel.namelist())
    assert 'mmmim/.mim/model-index.yml' in names
    assert 'mmmim/.mim/tools/train.py' in names
    assert 'mmmim/.mim/tools/analysis_tools/get_flops.py' in names
    index = wheel.read('mmmim/.mim/model-index.yml').decode()
    for line in index.splitlines():
        if line.strip().startswith('- '):
            meta = line.strip()[2:]
            assert f'mmmim/.mim/{meta}' in names, meta
    assert (
        'mmmim/.mim/configs/mae/mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py'
        in names
    )
    assert 'mmmim/.mim/configs/_base_/default_runtime.py' in names
    assert not any(n.startswith('tests/') for n in names)
