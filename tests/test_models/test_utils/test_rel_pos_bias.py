# Copyright (c) mmmim contributors. All rights reserved.
"""Relative position tables and their official geometric resizing."""

import pytest
import torch
from timm.models.beit import gen_relative_position_index

from mmmim.models.utils import (
    RelativePositionBias,
    cubic_spline_matrix,
    geometric_offsets,
    resize_rel_pos_bias_table,
)

from ...installed import require


def test_index_known_answer_2x2_with_cls():
    """timm's index (used by the SimMIM tables) has the official layout."""
    index = gen_relative_position_index((2, 2))
    # Offsets (dh, dw) map to (dh + 1) * 3 + (dw + 1); 9 offsets, then
    # cls->token 9, token->cls 10, cls->cls 11.
    expected = torch.tensor(
        [
            [11, 9, 9, 9, 9],
            [10, 4, 3, 1, 0],
            [10, 5, 4, 2, 1],
            [10, 7, 6, 4, 3],
            [10, 8, 7, 5, 4],
        ]
    )
    assert torch.equal(index, expected)


def test_shared_bias_module_looks_up_the_table():
    module = RelativePositionBias((2, 3), num_heads=2)
    assert module.relative_position_bias_table.shape == (3 * 5 + 3, 2)
    with torch.no_grad():
        module.relative_position_bias_table.copy_(
            torch.arange(36.0).reshape(18, 2)
        )
    bias = module()
    assert bias.shape == (2, 7, 7)
    assert bias[1, 0, 0] == 17 * 2 + 1  # cls->cls, head 1
    # Token 0 -> token 0 is offset (0, 0): row 1 * 5 + 2 = 7.
    assert bias[0, 1, 1] == 14
    assert 'relative_position_index' not in module.state_dict()


def test_resize_is_exact_at_the_same_size():
    table = torch.randn(27 * 27 + 3, 4)
    assert resize_rel_pos_bias_table(table, 27, 3) is table


def test_spline_reproduces_cubics_and_clamps():
    knots = [-3.7, -1.5, 0.0, 1.5, 3.7]
    points = [-3.0, -0.5, 0.25, 2.0, 3.0]
    interp = cubic_spline_matrix(knots, points)
    cubic = lambda x: 0.5 * x**3 - x**2 + 2 * x - 1  # noqa: E731
    values = interp @ torch.tensor(
        [cubic(x) for x in knots], dtype=torch.float64
    )
    expected = torch.tensor([cubic(x) for x in points], dtype=torch.float64)
    torch.testing.assert_close(values, expected)
    # Rows sum to 1 (constants are kept) and points outside are clamped.
    outside = cubic_spline_matrix(knots, [-10.0, 10.0])
    assert torch.equal(outside[0], torch.eye(5, dtype=torch.float64)[0])
    assert torch.equal(outside[1], torch.eye(5, dtype=torch.float64)[-1])
    torch.testing.assert_close(
        interp.sum(1), torch.ones(5, dtype=torch.float64)
    )


def test_geometric_offsets():
    offsets = geometric_offsets(11, 13)
    assert len(offsets) == 11 and offsets[5] == 0.0
    assert offsets == [-v for v in reversed(offsets)]
    assert offsets[6] == 1.0
    assert offsets[-1] == pytest.approx(6.0, abs=1e-4)  # ~ 13 // 2
    # Growing spacing: fine near 0, coarse far away.
    gaps = [b - a for a, b in zip(offsets[5:], offsets[6:])]
    assert all(b > a for a, b in zip(gaps, gaps[1:]))


def test_resize_matches_scipy_bicubic_spline():
    """``interp2d(kind='cubic')`` on a grid is FITPACK's interpolating
    spline, which SciPy keeps as ``RectBivariateSpline(s=0)``."""
    scipy_interpolate = require('scipy.interpolate')
    gen = torch.Generator().manual_seed(0)
    table = torch.randn(13 * 13 + 3, 2, generator=gen)
    resized = resize_rel_pos_bias_table(table, 17, num_extra_tokens=3)
    assert resized.shape == (17 * 17 + 3, 2)
    assert torch.equal(resized[-3:], table[-3:])
    src = geometric_offsets(13, 17)
    dst = list(range(-8, 9))
    for head in range(2):
        grid = table[:-3, head].reshape(13, 13).double().numpy()
        spline = scipy_interpolate.RectBivariateSpline(
            src, src, grid, kx=3, ky=3, s=0
        )
        ref = torch.from_numpy(spline(dst, dst)).float().reshape(-1)
        torch.testing.assert_close(resized[:-3, head], ref)


@pytest.mark.parametrize(
    'shape, dst, extra, match',
    [
        ((50, 2), 7, 0, 'square'),
        ((25, 2), 8, 0, 'odd'),
    ],
)
def test_resize_errors(shape, dst, extra, match):
    with pytest.raises(ValueError, match=match):
        resize_rel_pos_bias_table(torch.zeros(shape), dst, extra)


def test_spline_needs_four_increasing_knots():
    with pytest.raises(ValueError, match='at least 4'):
        cubic_spline_matrix([0.0, 1.0, 2.0], [0.5])
    with pytest.raises(ValueError, match='increasing'):
        cubic_spline_matrix([0.0, 1.0, 1.0, 2.0], [0.5])
