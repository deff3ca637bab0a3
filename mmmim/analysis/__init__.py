# Copyright (c) mmmim contributors. All rights reserved.
"""Analysis code behind ``tools/analysis_tools``: the FLOP formulas
(:mod:`.flops`) and the side-by-side training benchmark (:mod:`.benchmark`,
its comparisons in :mod:`.benchmark_methods`)."""
