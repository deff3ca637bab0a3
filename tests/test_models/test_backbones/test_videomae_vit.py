# Copyright (c) mmmim contributors. All rights reserved.
"""VideoMAEViT, VideoMAEDecoder and VideoMAE on tiny models."""

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from mmmim.models import VideoMAE, VideoMAEDecoder, VideoMAEViT

TINY = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
GEOMETRY = dict(img_size=32, num_frames=4, patch_size=8, tubelet_size=2)
NUM_TOKENS = 2 * 4 * 4


def _tiny_videomae(**backbone) -> VideoMAE:
    model = VideoMAE(
        backbone=dict(type='VideoMAEViT', arch=TINY, **GEOMETRY, **backbone),
        neck=dict(
            type='VideoMAEDecoder',
            num_patches=NUM_TOKENS,
            patch_size=8,
            tubelet_size=2,
            embed_dims=32,
            decoder_embed_dims=16,
            decoder_num_layers=1,
            decoder_num_heads=2,
        ),
        head=dict(type='VideoReconstructionHead', patch_size=8),
    )
    model.init_weights()
    return model


def test_pretraining_shapes_and_official_counts():
    model = _tiny_videomae()
    videos = torch.randn(2, 3, 4, 32, 32)
    latent, mask = model.backbone(videos)
    # int(0.9 * 16) = 14 masked per slot: 2 visible x 2 slots.
    assert latent.shape == (2, 4, 32) and mask.shape == (2, NUM_TOKENS)
    out = model.reconstruct(videos)
    assert out['pred'].shape == out['target'].shape == (2, NUM_TOKENS, 384)
    assert torch.isfinite(out['loss'])
    # Predictions exist only at masked tokens.
    assert (out['pred'][~out['mask']] == 0).all()
    assert (out['pred'][out['mask']] != 0).any()


def test_encoder_sees_only_visible_tokens_in_order():
    model = _tiny_videomae().eval()
    videos = torch.randn(1, 3, 4, 32, 32)
    mask = model.backbone.mask_generator(1, (2, 4, 4))
    plain = VideoMAEViT(
        arch=TINY, **GEOMETRY, mask_generator=None, out_type='raw'
    ).eval()
    plain.load_state_dict(model.backbone.state_dict())
    # A single block sees the visible tokens only: same as running the
    # plain model on those tokens alone (attention over the same set).
    tokens, grid = plain.patch_embed(videos)
    tokens = tokens + plain.pos_embed
    visible = tokens[:, ~mask[0]]
    expected = visible
    for block in plain.blocks:
        expected = block(expected)
    expected = plain.norm(expected)
    latent, _ = model.backbone(videos, mask)
    torch.testing.assert_close(latent, expected, atol=1e-5, rtol=1e-5)


def test_decoder_predicts_masked_tokens_in_ascending_order():
    decoder = VideoMAEDecoder(
        num_patches=8,
        patch_size=2,
        tubelet_size=2,
        embed_dims=4,
        decoder_embed_dims=4,
        decoder_num_layers=1,
        decoder_num_heads=1,
    )
    mask = torch.tensor([[True, False, True, True, False, True, True, True]])
    ids = decoder.masked_ids(mask, 6)
    assert ids.tolist() == [[0, 2, 3, 5, 6, 7]]
    pred = decoder(torch.randn(1, 2, 4), mask)
    assert pred.shape == (1, 6, 2 * 2 * 2 * 3)


def _ops_in(fn) -> list:
    """The aten ops a call runs."""
    ops = []

    class Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = str(func.overloadpacket)
            # Boolean indexing runs nonzero inside the index kernel (a
            # device-to-host sync on GPUs): record it as such.
            indices = args[1] if name.startswith('aten.index') else ()
            if any(
                isinstance(i, torch.Tensor) and i.dtype == torch.bool
                for i in indices or ()
            ):
                name += '[bool]'
            ops.append(name)
            return func(*args, **(kwargs or {}))

    with Recorder():
        fn()
    return ops


SYNC_OPS = (
    'aten.nonzero',
    'aten._local_scalar_dense',
    'aten.masked_select',
    'aten.index[bool]',
    'aten.index_put[bool]',
    'aten.index_put_[bool]',
)


@pytest.mark.parametrize('mask_from', ['model', 'pipeline'])
def test_training_step_has_no_device_to_host_sync(mask_from):
    """Gather-based selection: no nonzero/item/masked_select in the step,
    whether the model draws the tube mask or the pipeline provides it."""
    model = _tiny_videomae()
    videos = torch.randn(2, 3, 4, 32, 32)
    mask = None
    if mask_from == 'pipeline':
        mask = model.backbone.mask_generator(2, (2, 4, 4))

    def step():
        model.reconstruct(videos, mask)['loss'].backward()

    ops = _ops_in(step)
    assert 'aten.gather' in ops
    assert not [op for op in ops if op in SYNC_OPS]


def test_the_op_counter_sees_boolean_indexing():
    """The sync check has teeth: official-style x[~mask] is caught."""
    x = torch.randn(2, 8, 4)
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[:, :6] = True
    ops = _ops_in(lambda: x[~mask].reshape(2, -1, 4))
    assert 'aten.index[bool]' in ops


def test_plain_mode_outputs():
    videos = torch.randn(2, 3, 4, 32, 32)
    featmap = VideoMAEViT(
        arch=TINY, **GEOMETRY, mask_generator=None, out_type='featmap'
    )(videos)[0]
    assert featmap.shape == (2, 32, 2, 4, 4)
    pooled = VideoMAEViT(
        arch=TINY,
        **GEOMETRY,
        mask_generator=None,
        out_type='avg_featmap',
        final_norm=False,
    )
    assert pooled(videos)[0].shape == (2, 32)
    assert not hasattr(pooled, 'norm') or pooled.norm is None
    # Another clip size rebuilds the sinusoid table for its grid.
    assert pooled(torch.randn(1, 3, 8, 48, 48))[0].shape == (1, 32)


def test_arch_zoo_and_layer_depth():
    for arch, dims in dict(s=384, b=768, l=1024, h=1280).items():
        assert VideoMAEViT.arch_zoo[arch]['embed_dims'] == dims
    model = VideoMAEViT(arch=TINY, **GEOMETRY, out_type='avg_featmap')
    assert model.get_layer_depth(
        'backbone.patch_embed.proj.weight', 'backbone.'
    ) == (0, 4)
    assert model.get_layer_depth(
        'backbone.blocks.1.attn.q_bias', 'backbone.'
    ) == (2, 4)
    assert model.get_layer_depth('backbone.fc_norm.weight', 'backbone.') == (
        3,
        4,
    )
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (3, 4)


def test_official_parameter_names_and_no_key_bias():
    model = VideoMAEViT(arch=TINY, **GEOMETRY)
    keys = set(model.state_dict())
    assert {'blocks.0.attn.q_bias', 'blocks.0.attn.v_bias'} <= keys
    assert 'pos_embed' not in keys  # a fixed table, as in the official code
    assert not any('k_bias' in k for k in keys)


def test_frozen_stages():
    model = VideoMAEViT(arch=TINY, **GEOMETRY, frozen_stages=1)
    model.train()
    assert not model.patch_embed.proj.weight.requires_grad
    assert not any(p.requires_grad for p in model.blocks[0].parameters())
    assert all(p.requires_grad for p in model.blocks[1].parameters())
    assert not model.blocks[0].training and model.blocks[1].training


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match='divisible'):
        VideoMAEViT(arch=TINY, img_size=30, patch_size=8)
    with pytest.raises(ValueError, match='out_type'):
        VideoMAEViT(arch=TINY, **GEOMETRY, out_type='cls_token')
    model = _tiny_videomae()
    with pytest.raises(ValueError, match='divisible by the cube'):
        model.reconstruct(torch.randn(1, 3, 3, 32, 32))
    wrong_ratio = torch.zeros(1, NUM_TOKENS, dtype=torch.bool)
    wrong_ratio[:, :8] = True
    with pytest.raises(RuntimeError, match='mask exactly 28 of 32'):
        model.reconstruct(torch.randn(1, 3, 4, 32, 32), wrong_ratio)
    with pytest.raises(ValueError, match='bool'):
        model.reconstruct(torch.randn(1, 3, 4, 32, 32), wrong_ratio.int())
