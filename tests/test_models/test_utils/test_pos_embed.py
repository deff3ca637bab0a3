# Copyright (c) mmmim contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch

from mmmim.models.utils import build_2d_sincos_pos_embed, resize_pos_embed


def _official_reference(grid: int, dims: int) -> np.ndarray:
    """The official MAE table, re-derived in NumPy from its definition.

    ``meshgrid(grid_w, grid_h)`` puts the w coordinate first; each half is
    concat(sin, cos) with omega_i = 1 / 10000**(i / (d / 2)).
    """

    def one_d(d: int, pos: np.ndarray) -> np.ndarray:
        omega = 1.0 / 10000 ** (np.arange(d // 2) / (d / 2.0))
        out = np.outer(pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    coords = np.arange(grid, dtype=np.float64)
    gw, gh = np.meshgrid(coords, coords)  # xy indexing: gw varies along w
    emb = np.concatenate([one_d(dims // 2, gw), one_d(dims // 2, gh)], 1)
    return np.concatenate([np.zeros((1, dims)), emb], axis=0)


def test_known_values_2x2_dim8():
    table = build_2d_sincos_pos_embed(2, 8, cls_token=True)
    assert table.shape == (1, 5, 8)
    assert table.dtype == torch.float32
    assert torch.all(table[0, 0] == 0)  # cls row
    s1, c1 = math.sin(1.0), math.cos(1.0)
    s01, c01 = math.sin(0.01), math.cos(0.01)  # omega_1 = 10000**-0.5
    expected = torch.tensor(
        [
            # token (row 0, col 0)
            [0, 0, 1, 1, 0, 0, 1, 1],
            # token (row 0, col 1): first half encodes the column
            [s1, s01, c1, c01, 0, 0, 1, 1],
            # token (row 1, col 0): second half encodes the row
            [0, 0, 1, 1, s1, s01, c1, c01],
            [s1, s01, c1, c01, s1, s01, c1, c01],
        ]
    )
    torch.testing.assert_close(table[0, 1:], expected, atol=1e-7, rtol=0)


def test_halves_depend_on_column_then_row():
    h, w, d = 3, 4, 16
    table = build_2d_sincos_pos_embed((h, w), d)[0].reshape(h, w, d)
    first, second = table[..., : d // 2], table[..., d // 2 :]
    # First half: same for every row; second half: same for every column.
    assert torch.equal(first, first[:1].expand(h, -1, -1))
    assert torch.equal(second, second[:, :1].expand(-1, w, -1))
    assert not torch.equal(first[:, 0], first[:, 1])
    assert not torch.equal(second[0], second[1])


@pytest.mark.parametrize('grid,dims', [(14, 768), (14, 512), (3, 16)])
def test_matches_official_definition(grid, dims):
    ref = torch.from_numpy(_official_reference(grid, dims)).float()
    table = build_2d_sincos_pos_embed(grid, dims, cls_token=True)[0]
    torch.testing.assert_close(table, ref, atol=1e-6, rtol=0)


def test_no_cls_and_bad_dims():
    assert build_2d_sincos_pos_embed(2, 8).shape == (1, 4, 8)
    with pytest.raises(ValueError, match='divisible by 4'):
        build_2d_sincos_pos_embed(2, 6)


def test_resize_same_size_is_identity():
    table = build_2d_sincos_pos_embed(4, 16, cls_token=True)
    assert torch.equal(resize_pos_embed(table, 4, (4, 4)), table)


def test_resize_other_size():
    table = build_2d_sincos_pos_embed(4, 16, cls_token=True)
    table[0, 0] = 3.0  # a recognisable cls row
    out = resize_pos_embed(table, 4, (8, 6))
    assert out.shape == (1, 1 + 48, 16)
    assert torch.all(out[0, 0] == 3.0)  # extra tokens are kept
    # A constant grid stays constant under bicubic resizing.
    const = torch.ones(1, 1 + 16, 4)
    torch.testing.assert_close(
        resize_pos_embed(const, 4, 2), torch.ones(1, 5, 4)
    )
    with pytest.raises(ValueError, match='does not hold'):
        resize_pos_embed(table, 5, 8)
