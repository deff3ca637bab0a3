# Sphinx configuration of the mmmim documentation (Markdown via MyST).
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from pathlib import Path  # noqa: E402

from model_zoo_page import write_model_zoo  # noqa: E402

# model_zoo.md is generated from model-index.yml and the metafiles.
_DOCS = Path(__file__).resolve().parent
write_model_zoo(_DOCS.parents[1], _DOCS / 'model_zoo.md')

project = 'mmmim'
author = 'mmmim contributors'
copyright = '2026, mmmim contributors'

extensions = ['myst_parser']
source_suffix = {'.md': 'markdown'}
master_doc = 'index'
exclude_patterns = ['_build']
html_theme = 'alabaster'
html_static_path = ['_static']
myst_heading_anchors = 3
