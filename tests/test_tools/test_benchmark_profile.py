# Copyright (c) mmmim contributors. All rights reserved.
"""``benchmark.py --profile`` prints where one step spends its time, and
``--compile-mode`` is refused without ``--compile``."""

import re

import torch

from mmmim.analysis import benchmark as bench
from mmmim.analysis import benchmark_methods as methods


def test_profile_lists_the_matrix_products_of_a_step():
    model = methods.build_videomae(32)
    spec = bench.Spec(
        name='tiny',
        build=lambda: model,
        loss_fn=lambda m, x: m.loss(x, methods.tube_masks(1, 32))['loss'],
        inputs=methods.seeded_inputs(3, methods.FRAMES, 32, 32),
        flops_per_sample=1.0,
    )
    cand = bench.Candidate(spec, model, torch.device('cpu'), ('fused', None))
    table = bench.profile_step(cand, spec.inputs(1), rows=5)
    # Data rows carry percentages (the header only the word '%').
    lines = [line for line in table.splitlines() if re.search(r'\d%', line)]
    # The rows asked for, most expensive first; a ViT step is dominated by
    # its matrix products and attention.
    assert len(lines) == 5
    assert any(op in table for op in ('aten::mm', 'aten::addmm'))
    # The profiled step is not recorded among the timed ones.
    assert cand.fwd_bwd == []


def test_compile_mode_needs_compile():
    from tests.test_tools.conftest import run_tool

    proc = run_tool(
        [
            'tools/analysis_tools/benchmark.py',
            '--compile-mode',
            'reduce-overhead',
        ],
        expect_rc=1,
    )
    assert '--compile-mode needs --compile' in proc.stderr
