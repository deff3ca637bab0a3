# Copyright (c) mmmim contributors. All rights reserved.
import copy

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement
from torch.utils._python_dispatch import TorchDispatchMode

from mmmim.models import MAE
from mmmim.registry import MODELS

from ...installed import require


def _build(cfg: dict) -> MAE:
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    return model


def _mask(batch: int = 2) -> torch.Tensor:
    return torch.rand(batch, 16).argsort(1) < 12


def test_loss_is_finite_and_trains(tiny_mae_cfg):
    model = _build(tiny_mae_cfg).train()
    losses = model(torch.randn(2, 3, 32, 32), mode='loss')
    assert set(losses) == {'loss'} and torch.isfinite(losses['loss'])
    losses['loss'].backward()
    assert model.backbone.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    assert model.neck.mask_token.grad.abs().sum() > 0


def test_reconstruct_contract_and_determinism(tiny_mae_cfg):
    model = _build(tiny_mae_cfg).eval()
    x, mask = torch.randn(2, 3, 32, 32), _mask()
    out = model.reconstruct(x, mask)
    assert set(out) == {'pred', 'target', 'mask', 'loss'}
    assert out['pred'].shape == out['target'].shape == (2, 16, 192)
    assert out['mask'] is mask and out['loss'].dim() == 0
    again = model.reconstruct(x, mask)
    for key in ('pred', 'target', 'loss'):
        assert torch.equal(out[key], again[key])
    assert torch.equal(out['loss'], model.loss(x, mask)['loss'])


def test_matches_official_forward_on_the_same_noise(tiny_mae_cfg):
    """Re-run the official MAE algorithm (noise-ordered tokens) by hand."""
    model = _build(tiny_mae_cfg).eval()
    enc, dec = model.backbone, model.neck
    x = torch.randn(2, 3, 32, 32)
    noise = torch.rand(2, 16)
    ids_shuffle = noise.argsort(1)
    ids_restore = ids_shuffle.argsort(1)
    keep = 4
    mask = torch.ones(2, 16)
    mask[:, :keep] = 0
    mask = torch.gather(mask, 1, ids_restore).bool()

    def index(t, ids):
        return torch.gather(t, 1, ids.unsqueeze(-1).repeat(1, 1, t.shape[-1]))

    t = (
        enc.patch_embed.proj(x).flatten(2).transpose(1, 2)
        + enc.pos_embed[:, 1:]
    )
    t = index(t, ids_shuffle[:, :keep])
    cls = (enc.cls_token + enc.pos_embed[:, :1]).expand(2, -1, -1)
    t = torch.cat([cls, t], 1)
    for block in enc.blocks:
        t = block(t)
    t = dec.decoder_embed(enc.norm(t))
    tokens = torch.cat([t[:, 1:], dec.mask_token.repeat(2, 16 - keep, 1)], 1)
    t = (
        torch.cat([t[:, :1], index(tokens, ids_restore)], 1)
        + dec.decoder_pos_embed
    )
    for block in dec.decoder_blocks:
        t = block(t)
    ref_pred = dec.decoder_pred(dec.decoder_norm(t))[:, 1:]

    out = model.reconstruct(x, mask)
    torch.testing.assert_close(out['pred'], ref_pred, atol=1e-5, rtol=1e-5)
    target = model.head.target(x)
    ref_loss = (((ref_pred - target) ** 2).mean(-1) * mask).sum() / mask.sum()
    torch.testing.assert_close(out['loss'], ref_loss, atol=1e-5, rtol=1e-5)


def test_forward_modes(tiny_mae_cfg):
    model = _build(tiny_mae_cfg).eval()
    x, mask = torch.randn(2, 3, 32, 32), _mask()
    samples = [BaseDataElement(mask=m.numpy()) for m in mask]
    # A data-side mask (numpy, as packed by the pipeline) is used.
    loss = model([x], samples, mode='loss')['loss']
    torch.testing.assert_close(loss, model.reconstruct(x, mask)['loss'])
    preds = model(x, samples, mode='predict')
    assert len(preds) == 2 and preds[0].pred.shape == (16, 192)
    assert torch.equal(preds[1].mask, mask[1])
    assert len(model(x, mode='predict')) == 2
    latent, used = model(x, samples, mode='tensor')
    assert latent.shape == (2, 5, 32) and torch.equal(used, mask)
    with pytest.raises(ValueError, match='invalid mode'):
        model(x, mode='features')


def test_tensor_masks_in_samples(tiny_mae_cfg):
    model = _build(tiny_mae_cfg).eval()
    x, mask = torch.randn(2, 3, 32, 32), _mask()
    samples = [BaseDataElement(mask=m.int()) for m in mask]
    torch.testing.assert_close(
        model(x, samples, mode='loss')['loss'],
        model.reconstruct(x, mask)['loss'],
    )
    # Unequal data-side masks get a clear error.
    bad = [
        BaseDataElement(mask=np.arange(16) < 12),
        BaseDataElement(mask=np.arange(16) < 11),
    ]
    with pytest.raises(ValueError, match='same number'):
        model(x, bad, mode='loss')


@pytest.mark.parametrize(
    'backbone_update',
    [
        dict(encoder_mask_token=True),
        dict(
            mask_generator=dict(
                type='BlockMaskGenerator', mask_ratio=0.5, min_num_patches=2
            )
        ),
        dict(mask_generator=dict(type='GridMaskGenerator')),
        dict(with_cp=True, drop_path_rate=0.1),
    ],
)
def test_variants_train(tiny_mae_cfg, backbone_update):
    cfg = copy.deepcopy(tiny_mae_cfg)
    cfg['backbone'].update(backbone_update)
    model = _build(cfg).train()
    out = model.reconstruct(torch.randn(2, 3, 32, 32))
    assert torch.isfinite(out['loss'])
    out['loss'].backward()
    assert model.backbone.patch_embed.proj.weight.grad is not None


def test_builds_under_a_foreign_default_scope(tiny_mae_cfg):
    with DefaultScope.overwrite_default_scope('mmengine'):
        model = _build(tiny_mae_cfg)
    assert type(model.backbone).__name__ == 'MAEViT'
    assert type(model.neck).__name__ == 'MAEDecoder'


def test_default_data_preprocessor_and_train_step(tiny_mae_cfg):
    require('mmcv')  # mmpretrain needs mmcv
    from mmengine.optim import OptimWrapper

    cfg = copy.deepcopy(tiny_mae_cfg)
    cfg.pop('data_preprocessor')
    model = _build(cfg)
    assert type(model.data_preprocessor).__name__ == 'SelfSupDataPreprocessor'
    imgs = [
        torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(2)
    ]
    samples = [BaseDataElement(mask=m.numpy()) for m in _mask()]
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    log_vars = model.train_step(
        dict(inputs=[torch.stack(imgs)], data_samples=samples), optim
    )
    assert torch.isfinite(torch.as_tensor(log_vars['loss']).detach())
    preds = model.val_step(
        dict(inputs=[torch.stack(imgs)], data_samples=samples)
    )
    assert preds[0].pred.shape == (16, 192)


def test_mmpretrain_layer_decay_constructor(tiny_mae_cfg):
    require('mmcv')  # mmpretrain needs mmcv
    from mmpretrain.engine.optimizers import (
        LearningRateDecayOptimWrapperConstructor,
    )

    model = _build(tiny_mae_cfg)
    constructor = LearningRateDecayOptimWrapperConstructor(
        dict(
            type='OptimWrapper',
            optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
        ),
        paramwise_cfg=dict(layer_decay_rate=0.5),
    )
    groups = constructor(model.backbone).optimizer.param_groups
    scale = {g['param_name']: g['lr_scale'] for g in groups}
    # depth 0 -> 0.5**3, blocks.0 -> 0.5**2, blocks.1 -> 0.5, norm -> 1.
    assert scale['cls_token'] == pytest.approx(0.125)
    assert scale['blocks.0.attn.qkv.weight'] == pytest.approx(0.25)
    assert scale['blocks.1.attn.qkv.weight'] == pytest.approx(0.5)
    assert scale['norm.weight'] == pytest.approx(1.0)


class _RecordOps(TorchDispatchMode):
    """Record the aten ops that run (CPU stand-in for CUDA sync checks)."""

    def __init__(self):
        super().__init__()
        self.ops = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func.overloadpacket)
        if name == 'aten.index' and any(
            i is not None and i.dtype == torch.bool for i in args[1]
        ):
            name = 'aten.index[bool]'  # boolean indexing
        self.ops.add(name)
        return func(*args, **(kwargs or {}))


def test_recorder_catches_syncs():
    x = torch.randn(3, 4)
    with _RecordOps() as recorder:
        x[x > 0].sum().item()
    assert {'aten.index[bool]', 'aten._local_scalar_dense'} <= recorder.ops


def test_training_step_has_no_host_sync_or_boolean_indexing(tiny_mae_cfg):
    model = _build(tiny_mae_cfg).train()
    x = torch.randn(2, 3, 32, 32)
    with _RecordOps() as recorder:
        model(x, mode='loss')['loss'].backward()
    # .item()/.tolist()/bool() read back through _local_scalar_dense;
    # boolean indexing needs nonzero (a sync and a dynamic shape on GPU).
    forbidden = {
        'aten._local_scalar_dense',
        'aten.nonzero',
        'aten.masked_select',
        'aten.index[bool]',
    }
    assert 'aten.gather' in recorder.ops
    assert not recorder.ops & forbidden


def test_data_side_mask_through_pack_inputs(tiny_mae_cfg):
    require('mmcv')  # mmpretrain needs mmcv
    from mmengine.dataset import Compose, default_collate

    from mmmim.registry import TRANSFORMS

    pipeline = Compose(
        [
            TRANSFORMS.build(t)
            for t in (
                dict(
                    type='mmmim.GenerateMask',
                    mask_generator=dict(
                        type='BlockMaskGenerator', mask_ratio=0.5
                    ),
                    patch_size=8,
                ),
                dict(type='mmpretrain.PackInputs', algorithm_keys=['mask']),
            )
        ]
    )
    rng = np.random.default_rng(0)
    batch = default_collate(
        [
            pipeline(dict(img=rng.integers(0, 256, (32, 32, 3), np.uint8)))
            for _ in range(2)
        ]
    )
    cfg = copy.deepcopy(tiny_mae_cfg)
    cfg.pop('data_preprocessor')
    model = _build(cfg).eval()
    data = model.data_preprocessor(batch)
    masks = np.stack([s.mask for s in data['data_samples']])
    latent, used = model(**data, mode='tensor')
    assert latent.shape == (2, 1 + 8, 32)  # 50% of 16 patches visible
    assert np.array_equal(used.numpy(), masks)
