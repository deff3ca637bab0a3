# Copyright (c) mmmim contributors. All rights reserved.
import pytest
import torch

from mmmim.models import MAEDecoder


def _decoder(**kwargs) -> MAEDecoder:
    cfg = dict(
        num_patches=16,
        patch_size=8,
        in_channels=3,
        embed_dims=32,
        decoder_embed_dims=32,
        decoder_num_layers=2,
        decoder_num_heads=4,
    )
    cfg.update(kwargs)
    model = MAEDecoder(**cfg)
    model.init_weights()
    return model.eval()


def _mask(batch: int, num_masked: int) -> torch.Tensor:
    return torch.rand(batch, 16).argsort(1) < num_masked


def _run_blocks(model: MAEDecoder, x: torch.Tensor) -> torch.Tensor:
    x = x + model.decoder_pos_embed
    for block in model.decoder_blocks:
        x = block(x)
    return model.decoder_pred(model.decoder_norm(x))[:, 1:]


def test_shapes_and_names():
    model = _decoder()
    pred = model(torch.randn(2, 5, 32), _mask(2, 12))
    assert pred.shape == (2, 16, 8 * 8 * 3)
    assert _decoder(predict_dims=11)(
        torch.randn(2, 5, 32), _mask(2, 12)
    ).shape == (
        2,
        16,
        11,
    )
    names = set(model.state_dict())
    for name in (
        'decoder_embed.weight',
        'mask_token',
        'decoder_pos_embed',
        'decoder_blocks.1.attn.qkv.weight',
        'decoder_norm.weight',
        'decoder_pred.bias',
    ):
        assert name in names
    assert not model.decoder_pos_embed.requires_grad


def test_unshuffle_matches_boolean_reference():
    model = _decoder()
    latent = torch.randn(3, 1 + 6, 32)
    mask = _mask(3, 10)
    pred = model(latent, mask)
    x = model.decoder_embed(latent)
    for b in range(3):
        full = model.mask_token[0].expand(16, -1).clone()
        full[~mask[b]] = x[b, 1:]  # visible tokens, in position order
        seq = torch.cat([x[b, :1], full])[None]
        torch.testing.assert_close(pred[b], _run_blocks(model, seq)[0])


def test_all_tokens_latent_skips_mask_tokens():
    model = _decoder()
    latent = torch.randn(2, 17, 32)
    pred = model(latent, _mask(2, 12))
    ref = _run_blocks(model, model.decoder_embed(latent))
    torch.testing.assert_close(pred, ref)


def test_gradient_reaches_mask_token():
    model = _decoder().train()
    model(torch.randn(2, 5, 32), _mask(2, 12)).sum().backward()
    assert model.mask_token.grad.abs().sum() > 0
    assert model.decoder_embed.weight.grad.abs().sum() > 0


def test_errors():
    with pytest.raises(ValueError, match='square'):
        MAEDecoder(num_patches=12)
    rect = MAEDecoder(num_patches=(3, 4), embed_dims=32, decoder_embed_dims=32)
    assert rect.decoder_pos_embed.shape == (1, 13, 32)
    model = _decoder()
    with pytest.raises(ValueError, match='built for 16'):
        model(torch.randn(1, 20, 32), _mask(1, 4))
    with pytest.raises(ValueError, match=r'\[B, 16\]'):
        model(torch.randn(1, 5, 32), torch.zeros(1, 15, dtype=torch.bool))
