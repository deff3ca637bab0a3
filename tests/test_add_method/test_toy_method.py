# Copyright (c) mmmim contributors. All rights reserved.
"""docs/en/add_method.md holds: a fifth method in a handful of short files
(``toy_method/``) builds from a config, masks through the global-batch
rule, trains, and plugs into mmmim's optimizer and layer-decay tools."""

import torch
from mmengine.registry import MODELS as MMENGINE_MODELS

from mmmim.registry import TASK_UTILS

from .toy_method import ToyMIM

PATCH = 8
CONFIG = dict(
    type='toymim.ToyMIM',
    backbone=dict(
        type='toymim.ToyViT',
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64
        ),
        out_type='featmap',
        mask_generator=dict(type='mmmim.RandomMaskGenerator', mask_ratio=0.5),
    ),
    neck=dict(type='toymim.ToyLinearDecoder', embed_dims=32, patch_size=PATCH),
    head=dict(type='toymim.ToyPixelHead', patch_size=PATCH),
    data_preprocessor=dict(type='mmpretrain.SelfSupDataPreprocessor'),
)


def _build() -> ToyMIM:
    torch.manual_seed(0)
    model = MMENGINE_MODELS.build(CONFIG)
    model.init_weights()
    return model


def test_the_toy_builds_from_a_config_and_reconstructs():
    model = _build()
    assert isinstance(model, ToyMIM)
    out = model.reconstruct(torch.randn(3, 3, 32, 32))
    assert out['pred'].shape == out['target'].shape == (3, 16, 192)
    assert out['mask'].dtype == torch.bool
    assert out['mask'].sum(dim=1).tolist() == [8, 8, 8]
    assert torch.isfinite(out['loss'])


def test_masks_follow_the_global_batch_rule(monkeypatch):
    """Without a mask the encoder draws its rows of one global-batch draw.
    As rank 1 of 2 it keeps rows 1, 3, 5, 7 of an 8-row draw, which a direct
    generator call (4 rows) would not give."""
    from mmmim.models.mask_generators import global_batch

    monkeypatch.setattr(global_batch, 'get_world_size', lambda: 2)
    monkeypatch.setattr(global_batch, 'get_rank', lambda: 1)
    model = _build().eval()
    inputs = torch.randn(4, 3, 32, 32)
    generator = TASK_UTILS.build(
        dict(type='mmmim.RandomMaskGenerator', mask_ratio=0.5)
    )
    torch.manual_seed(7)
    drawn = model.reconstruct(inputs)['mask']
    torch.manual_seed(7)
    assert torch.equal(drawn, generator(8, (4, 4))[1::2])
    torch.manual_seed(7)
    assert not torch.equal(drawn, generator(4, (4, 4)))


def test_the_loss_scores_only_masked_patches_and_training_lowers_it():
    model = _build()
    inputs = torch.randn(2, 3, 32, 32)
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[:, :4] = True
    # Changing a visible patch's target leaves the loss alone.
    out = model.reconstruct(inputs, mask)
    target = out['target'].clone()
    target[:, 8] += 10.0
    same = model.head.loss_from_target(out['pred'], target, mask)
    torch.testing.assert_close(same, out['loss'])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        loss = model.loss(inputs, mask)['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_the_shared_core_gives_layer_depths_and_freezing():
    model = _build()
    depth = model.backbone.get_layer_depth
    assert depth('backbone.mask_token', 'backbone.') == (0, 4)
    assert depth('backbone.blocks.1.mlp.fc1.weight', 'backbone.') == (2, 4)
    frozen = MMENGINE_MODELS.build(dict(CONFIG['backbone'], frozen_stages=1))
    trainable = {n for n, p in frozen.named_parameters() if p.requires_grad}
    assert not any(
        n.startswith(('patch_embed', 'blocks.0.')) for n in trainable
    )
    assert (
        'mask_token' not in trainable
        and 'blocks.1.attn.qkv.weight' in trainable
    )
