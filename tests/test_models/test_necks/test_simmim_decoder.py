# Copyright (c) mmmim contributors. All rights reserved.
import pytest
import torch

from mmmim.models import SimMIMLinearDecoder


def test_shapes_and_official_keys():
    neck = SimMIMLinearDecoder(in_channels=8, encoder_stride=4)
    assert set(neck.state_dict()) == {'decoder.0.weight', 'decoder.0.bias'}
    out = neck(torch.randn(2, 8, 3, 5))
    assert out.shape == (2, 3, 12, 20)
    # A backbone's tuple of outputs: the last one is decoded.
    assert neck((torch.randn(2, 8, 1, 1), torch.randn(2, 8, 3, 5))).shape == (
        2,
        3,
        12,
        20,
    )


def test_pixel_layout_known_answer():
    """Conv channel c * s * s + i * s + j lands on pixel (i, j) of c."""
    neck = SimMIMLinearDecoder(in_channels=1, encoder_stride=2)
    with torch.no_grad():
        neck.decoder[0].weight.zero_()
        neck.decoder[0].bias.copy_(torch.arange(12.0))
    out = neck(torch.zeros(1, 1, 1, 1))
    assert out[0, :, :, :].tolist() == [
        [[0.0, 1.0], [2.0, 3.0]],
        [[4.0, 5.0], [6.0, 7.0]],
        [[8.0, 9.0], [10.0, 11.0]],
    ]


def test_token_input_is_rejected():
    with pytest.raises(ValueError, match='feature map'):
        SimMIMLinearDecoder(in_channels=8)(torch.randn(2, 16, 8))
