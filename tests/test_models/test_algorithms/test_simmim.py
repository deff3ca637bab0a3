# Copyright (c) mmmim contributors. All rights reserved.
"""The SimMIM algorithm with tiny ViT and Swin encoders."""

import pytest
import torch
from mmengine.structures import BaseDataElement

from mmmim.models import SimMIM
from mmmim.registry import MODELS

GENERATOR = dict(
    type='SimMIMMaskGenerator',
    mask_ratio=0.6,
    mask_patch_size=16,
    model_patch_size=8,
)


def _vit_cfg(tiny_arch, **backbone):
    return dict(
        type='mmmim.SimMIM',
        backbone=dict(
            type='SimMIMViT',
            arch=tiny_arch,
            img_size=32,
            patch_size=8,
            **backbone,
        ),
        neck=dict(
            type='SimMIMLinearDecoder', in_channels=32, encoder_stride=8
        ),
        head=dict(type='SimMIMReconstructionHead', patch_size=8),
        data_preprocessor=dict(type='BaseDataPreprocessor'),
    )


def _swin_cfg():
    return dict(
        type='mmmim.SimMIM',
        backbone=dict(
            type='SimMIMSwin',
            arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[2] * 4),
            img_size=64,
            window_size=2,
        ),
        neck=dict(
            type='SimMIMLinearDecoder', in_channels=128, encoder_stride=32
        ),
        head=dict(type='SimMIMReconstructionHead', patch_size=4),
        data_preprocessor=dict(type='BaseDataPreprocessor'),
    )


def _mask(tokens, masked):
    mask = torch.zeros(2, tokens, dtype=torch.bool)
    mask[:, masked] = True
    return mask


@pytest.mark.parametrize('kind', ['vit', 'swin'])
def test_reconstruct_in_patch_space(kind, tiny_arch):
    cfg = _vit_cfg(tiny_arch) if kind == 'vit' else _swin_cfg()
    model = MODELS.build(cfg)
    model.init_weights()
    size, tokens, p = (32, 16, 8) if kind == 'vit' else (64, 256, 4)
    mask = _mask(tokens, slice(0, tokens // 2))
    imgs = torch.randn(2, 3, size, size)
    out = model.reconstruct(imgs, mask)
    assert out['pred'].shape == out['target'].shape == (2, tokens, p * p * 3)
    assert torch.equal(out['mask'], mask)
    assert out['loss'].ndim == 0 and torch.isfinite(out['loss'])
    out['loss'].backward()
    assert model.backbone.mask_token.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        again = model.reconstruct(imgs, mask)
        torch.testing.assert_close(
            again['pred'], model.reconstruct(imgs, mask)['pred']
        )


def test_loss_covers_only_masked_tokens(tiny_arch):
    model = SimMIM(
        **{k: v for k, v in _vit_cfg(tiny_arch).items() if k != 'type'}
    )
    model.eval()
    imgs = torch.randn(2, 3, 32, 32)
    mask = _mask(16, [3])
    with torch.no_grad():
        out = model.reconstruct(imgs, mask)
    err = (out['pred'] - out['target']).abs()[:, 3]
    assert out['loss'].item() == pytest.approx(
        (err.sum() / (2 * 64 + 1e-5) / 3).item(), rel=1e-6
    )


def test_modes_and_masks_from_data_samples(tiny_arch):
    model = MODELS.build(_vit_cfg(tiny_arch))
    imgs = torch.randn(2, 3, 32, 32)
    samples = [BaseDataElement() for _ in range(2)]
    for sample in samples:
        sample.set_field(torch.arange(16) % 3 == 0, 'mask')
    losses = model(imgs, samples, mode='loss')
    assert set(losses) == {'loss'}
    preds = model(imgs, samples, mode='predict')
    assert preds[0].pred.shape == (16, 192)
    assert torch.equal(preds[1].mask, torch.arange(16) % 3 == 0)
    (feat,) = model(imgs, samples, mode='tensor')
    assert feat.shape == (2, 32, 4, 4)


def test_mask_from_the_backbone_generator(tiny_arch):
    model = MODELS.build(_vit_cfg(tiny_arch, mask_generator=GENERATOR))
    out = model.reconstruct(torch.randn(2, 3, 32, 32))
    assert out['mask'].shape == (2, 16)
    assert torch.all(out['mask'].sum(1) == 3 * 4)  # ceil(4 x 0.6) squares
    no_generator = MODELS.build(_vit_cfg(tiny_arch))
    with pytest.raises(ValueError, match='SimMIM needs a mask'):
        no_generator.reconstruct(torch.randn(2, 3, 32, 32))


def test_bad_input(tiny_arch):
    model = MODELS.build(_vit_cfg(tiny_arch))
    with pytest.raises(
        ValueError, match='not divisible by the encoder stride'
    ):
        model.reconstruct(torch.randn(2, 3, 36, 32), _mask(16, [0]))
    with pytest.raises(ValueError, match=r'shape \[B, 16\]'):
        model.reconstruct(torch.randn(2, 3, 32, 32), _mask(15, [0]))
    wrong_stride = _vit_cfg(tiny_arch)
    wrong_stride['neck']['encoder_stride'] = 4
    with pytest.raises(ValueError, match='encoder_stride'):
        MODELS.build(wrong_stride).reconstruct(
            torch.randn(2, 3, 32, 32), _mask(16, [0])
        )
