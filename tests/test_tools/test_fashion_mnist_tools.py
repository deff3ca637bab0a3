# Copyright (c) mmmim contributors. All rights reserved.
"""tools/misc/prepare_fashion_mnist.sh: its offline paths."""

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'misc' / 'prepare_fashion_mnist.sh'
SYSTEM_DIR = Path('/usr/share/datasets/fashion-mnist')
FILES = (
    'train-images-idx3-ubyte.gz',
    'train-labels-idx1-ubyte.gz',
    't10k-images-idx3-ubyte.gz',
    't10k-labels-idx1-ubyte.gz',
)


def _system_has_it() -> bool:
    return all((SYSTEM_DIR / f).is_file() for f in FILES)


def _run(args, path=None):
    env = dict(os.environ)
    if path is not None:
        env['PATH'] = path
    return subprocess.run(
        [shutil.which('bash'), str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.skipif(_system_has_it(), reason='the package is installed')
def test_prepare_uses_the_cache_without_network(tmp_path):
    folder = tmp_path / 'cache' / str(SYSTEM_DIR).lstrip('/')
    folder.mkdir(parents=True)
    for name in FILES:
        (folder / name).write_bytes(gzip.compress(b'\x00\x00\x08\x01'))
    # A complete cached copy is used as it is: nothing is downloaded.
    proc = _run([str(tmp_path / 'cache')])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(folder)
    assert 'found Fashion-MNIST' in proc.stderr


@pytest.mark.skipif(_system_has_it(), reason='the package is installed')
def test_prepare_fails_clearly_without_apt(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for tool in ('mktemp', 'rm', 'dirname', 'gzip', 'id', 'find', 'head'):
        src = subprocess.run(
            ['bash', '-c', f'command -v {tool}'],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if src:
            (bin_dir / tool).symlink_to(src)
    proc = _run([str(tmp_path / 'cache')], path=str(bin_dir))
    assert proc.returncode == 1
    assert 'apt-get is not available' in proc.stderr
    assert 'apt-get install dataset-fashion-mnist' in proc.stderr
    assert proc.stdout == ''
