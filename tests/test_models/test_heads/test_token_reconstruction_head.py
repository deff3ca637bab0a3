# Copyright (c) mmmim contributors. All rights reserved.
import copy

import pytest
import torch

from mmmim.models import TokenReconstructionHead
from mmmim.registry import MODELS

from ...installed import require

TINY_DALLE = dict(
    type='mmpretrain.DALL-E', n_hid=8, n_blk_per_group=1, vocab_size=16
)


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    missing = str(tmp_path / 'dalle_encoder.pth')
    cfg = dict(
        TINY_DALLE, init_cfg=dict(type='Pretrained', checkpoint=missing)
    )
    with pytest.raises(FileNotFoundError, match='does not exist') as err:
        TokenReconstructionHead(tokenizer=cfg)
    assert missing in str(err.value) and 'dalle_encoder.pth' in str(err.value)
    with pytest.raises(FileNotFoundError, match='no checkpoint was given'):
        TokenReconstructionHead(tokenizer=dict(TINY_DALLE))


@pytest.fixture
def dalle_ckpt(tmp_path):
    require('mmcv')  # mmpretrain needs mmcv
    tokenizer = MODELS.build(copy.deepcopy(TINY_DALLE))
    path = tmp_path / 'tiny_dalle.pth'
    torch.save(tokenizer.state_dict(), path)
    return str(path), tokenizer


def _head(path: str) -> TokenReconstructionHead:
    cfg = dict(TINY_DALLE, init_cfg=dict(type='Pretrained', checkpoint=path))
    return TokenReconstructionHead(tokenizer=cfg, patch_size=8)


def test_tokens_and_loss(dalle_ckpt):
    path, saved = dalle_ckpt
    head = _head(path)
    for key, value in saved.state_dict().items():
        assert torch.equal(head.tokenizer.state_dict()[key], value)
    assert not any(p.requires_grad for p in head.tokenizer.parameters())
    imgs = torch.randn(2, 3, 32, 32)
    tokens = head.target(imgs)
    assert tokens.shape == (2, 16) and tokens.dtype == torch.int64
    assert tokens.min() >= 0 and tokens.max() < 16
    assert torch.equal(tokens, head.target(imgs))
    logits = torch.randn(2, 16, 16, requires_grad=True)
    mask = torch.arange(16).repeat(2, 1) >= 4
    loss = head.loss(logits, imgs, mask)
    ce = torch.nn.functional.cross_entropy(logits[mask], tokens[mask])
    torch.testing.assert_close(loss, ce)
    loss.backward()
    assert torch.all(logits.grad[~mask] == 0)
    head.train()
    assert head.training and not head.tokenizer.training


def test_incomplete_checkpoint(dalle_ckpt, tmp_path):
    path, saved = dalle_ckpt
    state = saved.state_dict()
    state.pop(next(iter(state)))
    partial = tmp_path / 'partial.pth'
    torch.save(state, partial)
    with pytest.raises(KeyError, match='lacks 1 weights'):
        _head(str(partial))


def test_mae_with_token_target(dalle_ckpt, tiny_mae_cfg):
    path, _ = dalle_ckpt
    cfg = copy.deepcopy(tiny_mae_cfg)
    cfg['neck']['predict_dims'] = 16
    cfg['head'] = dict(
        type='TokenReconstructionHead',
        patch_size=8,
        tokenizer=dict(
            TINY_DALLE, init_cfg=dict(type='Pretrained', checkpoint=path)
        ),
    )
    model = MODELS.build(cfg)
    model.init_weights()
    out = model.reconstruct(torch.randn(2, 3, 32, 32))
    assert out['pred'].shape == (2, 16, 16) and out['target'].shape == (2, 16)
    assert torch.isfinite(out['loss'])
    out['loss'].backward()
