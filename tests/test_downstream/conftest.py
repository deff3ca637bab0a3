# Copyright (c) mmmim contributors. All rights reserved.
"""The labelme example (real photos with polygons) for dense-task tests."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PREPARE = REPO / 'tools' / 'misc' / 'prepare_labelme_coco.py'


@pytest.fixture(scope='session')
def labelme_root() -> Path:
    """The prepared labelme 6.3.1 example (``data_dataset_coco/`` with ids
    shifted by +1, ``data_dataset_voc/``), fetched once into the cache."""
    proc = subprocess.run(
        [sys.executable, str(PREPARE)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        pytest.fail(
            'tools/misc/prepare_labelme_coco.py failed (it needs the PyPI '
            f'index once, then uses its cache):\n{proc.stderr[-3000:]}'
        )
    return Path(proc.stdout.strip().splitlines()[-1])
