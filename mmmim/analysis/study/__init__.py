# Copyright (c) mmmim contributors. All rights reserved.
"""Studies: pre-train a grid of released configs scaled down to a small
dataset, read each encoder out (kNN, linear probe, fine-tuning) next to
the baselines (raw pixels, random init, supervised from scratch), and
report a table and the papers' figures. ``tools/analysis_tools/
mim_study.py`` is the command line."""

from .probes import ProbeResult, knn_probe, linear_probe, split_validation
from .report import collect_rows, write_figures, write_table
from .runner import Launcher, StudyRunner
from .scale import scale_config
from .spec import RunSpec, StudySpec, baseline_runs, load_study

__all__ = [
    'Launcher',
    'ProbeResult',
    'RunSpec',
    'StudyRunner',
    'StudySpec',
    'baseline_runs',
    'collect_rows',
    'knn_probe',
    'linear_probe',
    'load_study',
    'scale_config',
    'split_validation',
    'write_figures',
    'write_table',
]
