# Copyright (c) mmmim contributors. All rights reserved.
import pytest
import torch

from mmmim.models import ConvMAEDecoder
from mmmim.models.utils import build_2d_sincos_pos_embed


def _decoder(**kwargs) -> ConvMAEDecoder:
    cfg = dict(
        num_patches=16,
        patch_size=16,
        embed_dims=32,
        decoder_embed_dims=32,
        decoder_num_layers=1,
        decoder_num_heads=4,
    )
    cfg.update(kwargs)
    model = ConvMAEDecoder(**cfg)
    model.init_weights()
    return model.eval()


def test_shapes_names_and_fixed_table():
    model = _decoder()
    mask = torch.rand(2, 16).argsort(1) < 12
    assert model(torch.randn(2, 4, 32), mask).shape == (2, 16, 768)
    names = set(model.state_dict())
    assert {
        'decoder_embed.weight',
        'mask_token',
        'decoder_pos_embed',
        'decoder_blocks.0.attn.qkv.weight',
        'decoder_norm.weight',
        'decoder_pred.bias',
    } <= names
    # No cls row: one sin-cos row per stage-3 token.
    assert torch.equal(
        model.decoder_pos_embed, build_2d_sincos_pos_embed(4, 32)
    )
    assert not model.decoder_pos_embed.requires_grad
    rect = _decoder(num_patches=(2, 3))
    assert rect(torch.randn(1, 2, 32), torch.arange(6)[None] >= 2).shape == (
        1,
        6,
        768,
    )


def test_mask_tokens_go_to_masked_positions():
    """Visible tokens keep their slot; masked slots get the mask token."""
    model = _decoder(decoder_num_layers=0)
    mask = torch.tensor([[True, False] * 8])
    latent = torch.randn(1, 8, 32)
    embedded = model.decoder_embed(latent)
    tokens = model.mask_token.expand(1, 16, -1).clone()
    tokens[0, 1::2] = embedded[0]
    expected = model.decoder_pred(
        model.decoder_norm(tokens + model.decoder_pos_embed)
    )
    torch.testing.assert_close(model(latent, mask), expected)


def test_bad_input_gives_clear_errors():
    model = _decoder()
    mask = torch.zeros(1, 16, dtype=torch.bool)
    with pytest.raises(ValueError, match='built for 16'):
        model(torch.randn(1, 17, 32), mask)
    with pytest.raises(ValueError, match='shape'):
        model(torch.randn(1, 4, 32), torch.zeros(1, 15, dtype=torch.bool))
    with pytest.raises(ValueError, match='square'):
        _decoder(num_patches=15)
