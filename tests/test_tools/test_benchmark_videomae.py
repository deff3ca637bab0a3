# Copyright (c) mmmim contributors. All rights reserved.
"""The VideoMAE benchmark compares like with like: the official-style
(boolean indexing) formulation computes the same loss as mmmim on the same
weights, clips and masks, synchronises with the host where mmmim does not,
and the FLOP count follows the formula."""

import pytest
import torch

from mmmim.analysis import benchmark_methods as bench


def test_official_style_loss_equals_mmmim_loss():
    model = bench.build_videomae(32)
    videos = bench.seeded_inputs(3, bench.FRAMES, 32, 32)(2)
    mask = bench.tube_masks(2, 32)
    official = bench.official_videomae_loss(model, videos, mask)
    mmmim = model.loss(videos, mask)['loss']
    torch.testing.assert_close(official, mmmim, rtol=1e-5, atol=1e-6)


def test_only_the_official_style_step_synchronises():
    counts = bench.sync_op_counts()
    # x[~mask], pos[~mask], pos[mask], target[mask] and the backward of
    # the first: at least four per step; none in mmmim's gather path.
    assert counts['official-style'] >= 4
    assert counts['mmmim'] == 0


def test_flops_follow_the_formula():
    # ViT-B/16 at 16 x 224 x 224: 1568 cubes of 1536 values, 160 visible,
    # 1408 predicted; encoder 12 x 768 on 160 tokens, decoder 4 x 384 on
    # 1568 tokens; a block costs 12 N d^2 + 2 N^2 d MAC.
    def block(n, d):
        return 12 * n * d * d + 2 * n * n * d

    expected = (
        1568 * 1536 * 768
        + 12 * block(160, 768)
        + 160 * 768 * 384
        + 4 * block(1568, 384)
        + 1408 * 384 * 1536
    )
    assert bench.videomae_forward_macs(224) == pytest.approx(
        expected, rel=1e-12
    )


def test_too_few_pairs_are_refused_before_timing():
    from tests.test_tools.conftest import run_tool

    proc = run_tool(
        ['tools/analysis_tools/benchmark.py', '--pairs', '1'], expect_rc=1
    )
    assert '--pairs must be at least 2' in proc.stderr
