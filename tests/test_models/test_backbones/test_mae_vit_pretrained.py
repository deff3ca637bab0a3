# Copyright (c) mmmim contributors. All rights reserved.
"""MAEViT for downstream use: loading checkpoints, pos-embed resizing and
freezing the whole encoder for linear probing."""

import pytest
import torch
import torch.nn.functional as F

from mmmim.models import MAEViT


def _vit(arch, img_size=32, **kwargs) -> MAEViT:
    kwargs.setdefault('mask_generator', None)
    return MAEViT(arch, img_size=img_size, patch_size=8, **kwargs)


def _pretrain_checkpoint(arch, path, img_size=32) -> dict:
    """An mmmim-style checkpoint: backbone.* and a decoder under neck.*."""
    encoder = _vit(arch, img_size=img_size)
    encoder.init_weights()
    with torch.no_grad():
        # A table that is not sin-cos, so that resizing is really tested.
        encoder.pos_embed.normal_()
    state = {f'backbone.{k}': v for k, v in encoder.state_dict().items()}
    state['neck.decoder_embed.weight'] = torch.zeros(4, 32)
    state['neck.mask_token'] = torch.zeros(1, 1, 4)
    torch.save({'state_dict': state, 'meta': {}}, path)
    return state


def _pretrained(path) -> dict:
    return dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')


def official_interpolate_pos_embed(pos_embed, new_size):
    """facebookresearch/mae util/pos_embed.py::interpolate_pos_embed."""
    num_extra_tokens = 1
    embedding_size = pos_embed.shape[-1]
    orig_size = int((pos_embed.shape[-2] - num_extra_tokens) ** 0.5)
    extra_tokens = pos_embed[:, :num_extra_tokens]
    pos_tokens = pos_embed[:, num_extra_tokens:]
    pos_tokens = pos_tokens.reshape(
        -1, orig_size, orig_size, embedding_size
    ).permute(0, 3, 1, 2)
    pos_tokens = F.interpolate(
        pos_tokens,
        size=(new_size, new_size),
        mode='bicubic',
        align_corners=False,
    )
    pos_tokens = pos_tokens.permute(0, 2, 3, 1).flatten(1, 2)
    return torch.cat((extra_tokens, pos_tokens), dim=1)


def test_finetune_load_reports_keys(tiny_arch, tmp_path):
    path = tmp_path / 'mae.pth'
    state = _pretrain_checkpoint(tiny_arch, path)
    # The official global-pool fine-tuning model: fc_norm, no final norm.
    model = _vit(
        tiny_arch,
        out_type='avg_featmap',
        final_norm=False,
        pos_embed_trainable=True,
        init_cfg=_pretrained(path),
    )
    model.init_weights()
    report = model.load_report
    assert report['missing'] == ['fc_norm.bias', 'fc_norm.weight']
    assert report['unexpected'] == ['norm.bias', 'norm.weight']
    assert report['ignored'] == [
        'neck.decoder_embed.weight',
        'neck.mask_token',
    ]
    assert 'blocks.1.mlp.fc2.weight' in report['loaded']
    for key, value in model.state_dict().items():
        if not key.startswith('fc_norm'):
            assert torch.equal(value, state[f'backbone.{key}']), key
    # The fresh fc_norm is the official LayerNorm init.
    assert torch.equal(model.fc_norm.weight, torch.ones(32))
    assert model.pos_embed.requires_grad
    # Loading again (a second init_weights) changes nothing.
    model.init_weights()


def test_pos_embed_resized_as_official_on_load(tiny_arch, tmp_path):
    path = tmp_path / 'mae16.pth'
    state = _pretrain_checkpoint(tiny_arch, path, img_size=16)  # 2x2 grid
    model = _vit(tiny_arch, img_size=48, init_cfg=_pretrained(path))  # 6x6
    model.init_weights()
    loaded = state['backbone.pos_embed']
    expected = official_interpolate_pos_embed(loaded, 6)
    assert model.pos_embed.shape == (1, 37, 32)
    # The cls row is kept as it is; the grid follows the official code.
    assert torch.equal(model.pos_embed[:, 0], loaded[:, 0])
    torch.testing.assert_close(model.pos_embed.data, expected)
    out = model(torch.randn(1, 3, 48, 48))[0]
    assert out.shape == (1, 32)


def test_pos_embed_exact_at_the_same_size(tiny_arch, tmp_path):
    path = tmp_path / 'mae.pth'
    state = _pretrain_checkpoint(tiny_arch, path)
    model = _vit(tiny_arch, init_cfg=_pretrained(path))
    model.init_weights()
    assert torch.equal(model.pos_embed.data, state['backbone.pos_embed'])
    assert model.load_report['missing'] == []


def test_load_errors_are_clear(tiny_arch, tmp_path):
    path = tmp_path / 'mae.pth'
    _pretrain_checkpoint(tiny_arch, path)
    model = _vit(
        tiny_arch,
        init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='enc.'),
    )
    with pytest.raises(ValueError, match=r"no key starting with 'enc\.'"):
        model.init_weights()
    official = tmp_path / 'official.pth'
    torch.save({'model': {'cls_token': torch.zeros(1, 1, 32)}}, official)
    with pytest.raises(ValueError, match='mae_to_mmmim'):
        _vit(tiny_arch, init_cfg=_pretrained(official)).init_weights()
    empty = dict(type='Pretrained', checkpoint='', prefix='backbone.')
    with pytest.raises(ValueError, match='init_cfg.checkpoint is empty'):
        _vit(tiny_arch, init_cfg=empty).init_weights()
    wider = dict(tiny_arch, embed_dims=64, feedforward_channels=128)
    with pytest.raises(RuntimeError, match='does not fit this MAEViT'):
        _vit(wider, init_cfg=_pretrained(path)).init_weights()


def test_load_without_prefix(tiny_arch, tmp_path):
    source = _vit(tiny_arch)
    source.init_weights()
    path = tmp_path / 'encoder.pth'
    torch.save(source.state_dict(), path)
    model = _vit(
        tiny_arch, init_cfg=dict(type='Pretrained', checkpoint=str(path))
    )
    model.init_weights()
    assert torch.equal(
        model.blocks[0].attn.qkv.weight, source.blocks[0].attn.qkv.weight
    )
    assert model.load_report['ignored'] == []


@pytest.mark.parametrize('out_type', ['cls_token', 'avg_featmap'])
def test_fully_frozen_encoder_for_linear_probe(tiny_arch, out_type):
    final_norm = out_type == 'cls_token'
    model = _vit(
        tiny_arch,
        frozen_stages=tiny_arch['num_layers'],
        out_type=out_type,
        final_norm=final_norm,
    )
    model.init_weights()
    model.train()
    # Nothing in the encoder is trained, not even its output norms.
    assert not any(p.requires_grad for p in model.parameters())
    assert not any(block.training for block in model.blocks)
    x = torch.randn(2, 3, 32, 32)
    out = model(x)[0]
    assert out.shape == (2, 32) and not out.requires_grad
    if out_type == 'avg_featmap':
        # The frozen fresh fc_norm is a parameter-free LayerNorm.
        with torch.no_grad():
            tokens = model(x)[0]
        raw = _vit(tiny_arch, out_type='raw', final_norm=False).requires_grad_(
            False
        )
        raw.load_state_dict(model.state_dict(), strict=False)
        pooled = raw(x)[0][:, 1:].mean(1)
        torch.testing.assert_close(
            tokens, F.layer_norm(pooled, (32,), eps=1e-6)
        )


def test_partial_freezing_keeps_the_last_blocks_trainable(tiny_arch):
    model = _vit(
        tiny_arch,
        frozen_stages=tiny_arch['num_layers'] - 1,
        out_type='avg_featmap',
        final_norm=False,
    )
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(
        n.startswith(('blocks.1.', 'fc_norm.')) for n in trainable
    )
    assert 'fc_norm.weight' in trainable
