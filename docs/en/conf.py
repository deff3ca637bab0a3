# Sphinx configuration of the mmmim documentation (Markdown via MyST).
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

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
