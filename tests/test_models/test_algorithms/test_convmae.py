# Copyright (c) mmmim contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.structures import BaseDataElement

from mmmim.models import ConvMAE
from mmmim.registry import MODELS

from .test_mae import _RecordOps

TINY_CONVMAE = dict(
    type='mmmim.ConvMAE',
    backbone=dict(
        type='ConvMAEViT',
        arch=dict(embed_dims=(16, 24, 32), num_layers=(1, 1, 2), num_heads=4),
        img_size=64,
    ),
    neck=dict(
        type='ConvMAEDecoder',
        num_patches=16,
        patch_size=16,
        embed_dims=32,
        decoder_embed_dims=32,
        decoder_num_layers=1,
        decoder_num_heads=4,
    ),
    head=dict(type='PixelReconstructionHead', patch_size=16),
    data_preprocessor=dict(type='BaseDataPreprocessor'),
)


def _build(**backbone) -> ConvMAE:
    cfg = copy.deepcopy(TINY_CONVMAE)
    cfg['backbone'].update(backbone)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _mask(batch: int = 2) -> torch.Tensor:
    return torch.rand(batch, 16).argsort(1) < 12


def test_reconstruct_contract_and_determinism():
    model = _build().eval()
    x, mask = torch.randn(2, 3, 64, 64), _mask()
    out = model.reconstruct(x, mask)
    assert set(out) == {'pred', 'target', 'mask', 'loss'}
    assert out['pred'].shape == out['target'].shape == (2, 16, 768)
    assert out['mask'] is mask and out['loss'].dim() == 0
    again = model.reconstruct(x, mask)
    for key in ('pred', 'target', 'loss'):
        assert torch.equal(out[key], again[key])
    assert torch.equal(out['loss'], model.loss(x, mask)['loss'])
    # The norm-pix target and the masked MSE, by hand.
    target = out['target']
    per_patch = (out['pred'] - target).pow(2).mean(-1)
    torch.testing.assert_close(out['loss'], per_patch[mask].mean())


def test_trains_and_every_stage_gets_gradients():
    model = _build(drop_path_rate=0.1, with_cp=True).train()
    loss = model(torch.randn(2, 3, 64, 64), mode='loss')['loss']
    assert torch.isfinite(loss)
    loss.backward()
    backbone = model.backbone
    for param in (
        backbone.blocks1[0].attn.weight,
        backbone.blocks2[0].mlp.fc1.weight,
        backbone.stage1_output_decode.weight,
        backbone.blocks3[1].attn.qkv.weight,
        model.neck.mask_token,
    ):
        assert param.grad is not None and param.grad.abs().sum() > 0


def test_forward_modes_use_data_side_masks():
    model = _build().eval()
    x, mask = torch.randn(2, 3, 64, 64), _mask()
    samples = [BaseDataElement(mask=m.numpy()) for m in mask]
    loss = model([x], samples, mode='loss')['loss']
    torch.testing.assert_close(loss, model.reconstruct(x, mask)['loss'])
    preds = model(x, samples, mode='predict')
    assert preds[0].pred.shape == (16, 768)
    latent, used = model(x, samples, mode='tensor')
    assert latent.shape == (2, 4, 32) and torch.equal(used, mask)


def test_training_step_has_no_host_sync_or_boolean_indexing():
    model = _build().train()
    with _RecordOps() as recorder:
        model(torch.randn(2, 3, 64, 64), mode='loss')['loss'].backward()
    forbidden = {
        'aten._local_scalar_dense',
        'aten.nonzero',
        'aten.masked_select',
        'aten.index[bool]',
    }
    assert 'aten.gather' in recorder.ops
    assert not recorder.ops & forbidden


def test_channels_last_and_bf16_losses_stay_close_to_fp32():
    torch.manual_seed(0)
    ref = _build().eval()
    fast = _build(channels_last=True).eval()
    fast.load_state_dict(ref.state_dict())
    x, mask = torch.randn(2, 3, 64, 64), _mask()
    loss = ref.reconstruct(x, mask)['loss']
    loss_cl = fast.reconstruct(x, mask)['loss']
    torch.testing.assert_close(loss_cl, loss, rtol=1e-5, atol=0)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss_bf16 = fast.reconstruct(x, mask)['loss']
    assert loss_bf16.dtype == torch.float32
    assert abs(loss_bf16.item() - loss.item()) <= 1e-2 * loss.item()


def test_bad_input_gives_clear_errors():
    model = _build().eval()
    with pytest.raises(ValueError, match='not divisible'):
        model.reconstruct(torch.randn(1, 3, 60, 64))
    with pytest.raises(ValueError, match='bool'):
        model.reconstruct(torch.randn(2, 3, 64, 64), _mask().long())
