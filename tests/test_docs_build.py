# Copyright (c) mmmim contributors. All rights reserved.
"""The Sphinx documentation builds without warnings (``make docs``)."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# requirements/docs.txt, installed by `make install`.
@pytest.mark.requires('sphinx', 'myst_parser')
def test_docs_build_without_warnings(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'sphinx',
            '-W',
            '-q',
            '-b',
            'html',
            '-d',
            str(tmp_path / 'doctrees'),
            str(REPO / 'docs' / 'en'),
            str(tmp_path / 'html'),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    html = tmp_path / 'html'
    for page in ('mae', 'simmim', 'convmae', 'converters', 'faq'):
        assert (html / f'{page}.html').is_file(), page
    # The model zoo page is generated from the metafiles.
    zoo = (html / 'model_zoo.html').read_text(encoding='utf-8')
    assert 'mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k' in zoo
    assert '83.66' in zoo
