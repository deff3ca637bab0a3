# Copyright (c) mmmim contributors. All rights reserved.
"""VideoMAE's 1-D sinusoid table and the cube embedding's token order."""

import math

import pytest
import torch

from mmmim.models.utils import CubeEmbed, build_1d_sinusoid_pos_embed


def test_table_matches_the_transformer_formula():
    dims = 6
    table = build_1d_sinusoid_pos_embed(5, dims)
    assert table.shape == (1, 5, dims) and table.dtype == torch.float32
    for pos in range(5):
        for j in range(dims):
            angle = pos / 10000 ** (2 * (j // 2) / dims)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert table[0, pos, j].item() == pytest.approx(expected, abs=1e-7)


def test_table_is_interleaved_not_concatenated():
    table = build_1d_sinusoid_pos_embed(1568, 768)[0]
    # Position 0: sin(0) = 0 on even channels, cos(0) = 1 on odd ones.
    assert torch.equal(table[0, 0::2], torch.zeros(384))
    assert torch.equal(table[0, 1::2], torch.ones(384))
    # Channels 0 and 1 share the frequency 1: sin(pos) and cos(pos).
    pos = torch.arange(1568, dtype=torch.float64)
    assert torch.allclose(table[:, 0].double(), torch.sin(pos), atol=1e-6)
    assert torch.allclose(table[:, 1].double(), torch.cos(pos), atol=1e-6)


def test_cube_embedding_orders_tokens_t_major():
    embed = CubeEmbed(1, 1, patch_size=2, tubelet_size=2)
    # The conv reads only the first pixel of each cube.
    embed.proj.weight.data.zero_()
    embed.proj.weight.data[0, 0, 0, 0, 0] = 1.0
    embed.proj.bias.data.zero_()
    frames, height, width = 4, 6, 8
    video = torch.arange(frames * height * width, dtype=torch.float32)
    video = video.view(1, 1, frames, height, width)
    tokens, grid = embed(video)
    assert grid == (2, 3, 4)
    t, i, j = torch.meshgrid(
        torch.arange(2), torch.arange(3), torch.arange(4), indexing='ij'
    )
    first_pixel = (2 * t) * height * width + (2 * i) * width + 2 * j
    assert torch.equal(tokens[0, :, 0], first_pixel.flatten().float())


def test_cube_embedding_names_bad_sizes():
    embed = CubeEmbed(3, 8, patch_size=16, tubelet_size=2)
    with pytest.raises(ValueError, match='not divisible by the cube'):
        embed(torch.zeros(1, 3, 15, 32, 32))
    with pytest.raises(ValueError, match=r'\[B, C, T, H, W\]'):
        embed(torch.zeros(1, 3, 32, 32))
