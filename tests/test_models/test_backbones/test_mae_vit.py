# Copyright (c) mmmim contributors. All rights reserved.
import pytest
import torch
from mmengine.registry import DefaultScope

from mmmim.models import MAEViT
from mmmim.registry import MODELS


def _build(arch, **kwargs) -> MAEViT:
    kwargs.setdefault('img_size', 32)
    kwargs.setdefault('patch_size', 8)
    model = MAEViT(arch, **kwargs)
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('ratio,visible', [(0.75, 4), (0.5, 8)])
def test_pretrain_shapes(tiny_arch, ratio, visible):
    gen = dict(type='mmmim.RandomMaskGenerator', mask_ratio=ratio)
    model = _build(tiny_arch, mask_generator=gen)
    latent, mask = model(torch.randn(2, 3, 32, 32))
    assert latent.shape == (2, 1 + visible, 32)  # 1 + int(L * (1 - r))
    assert mask.shape == (2, 16) and mask.dtype == torch.bool
    assert torch.all((~mask).sum(1) == visible)


def test_equals_blocks_on_gathered_visible_tokens(tiny_arch):
    model = _build(tiny_arch)
    x = torch.randn(2, 3, 32, 32)
    latent, mask = model(x)
    # Reference: the plain ViT computation on the visible tokens only.
    tokens = model.patch_embed.proj(x).flatten(2).transpose(1, 2)
    tokens = tokens + model.pos_embed[:, 1:]
    cls = model.cls_token + model.pos_embed[:, :1]
    for b in range(2):
        seq = torch.cat([cls[0], tokens[b][~mask[b]]])[None]
        for block in model.blocks:
            seq = block(seq)
        torch.testing.assert_close(latent[b], model.norm(seq)[0])


def test_given_mask_is_used_and_masked_pixels_are_ignored(tiny_arch):
    model = _build(tiny_arch)
    x = torch.randn(1, 3, 32, 32)
    mask = torch.zeros(1, 16, dtype=torch.bool)
    mask[0, 4:] = True  # keep the first row of patches (y < 8)
    latent, used = model(x, mask)
    assert used is mask and latent.shape == (1, 5, 32)
    x2 = x.clone()
    x2[..., 8:, :] = 0  # change only masked patches
    torch.testing.assert_close(model(x2, mask)[0], latent)


def test_gradient_flows(tiny_arch):
    model = _build(tiny_arch).train()
    latent, _ = model(torch.randn(2, 3, 32, 32))
    latent.sum().backward()
    assert model.patch_embed.proj.weight.grad.abs().sum() > 0
    assert model.cls_token.grad.abs().sum() > 0
    assert model.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    assert not model.pos_embed.requires_grad and model.pos_embed.grad is None


def test_encoder_mask_token_mode(tiny_arch):
    model = _build(tiny_arch, encoder_mask_token=True)
    x = torch.randn(2, 3, 32, 32)
    latent, mask = model(x)
    assert latent.shape == (2, 17, 32)
    assert model.mask_token.shape == (1, 1, 32)
    # Masked pixels do not matter: they are replaced by the mask token.
    x2 = x.clone()
    x2[0, :, :8, :8] += 5.0
    mask2 = torch.zeros(2, 16, dtype=torch.bool)
    mask2[:, 0] = True
    torch.testing.assert_close(model(x2, mask2)[0], model(x, mask2)[0])
    # Unequal counts are fine when nothing is dropped.
    mask2[1, 1] = True
    assert model(x, mask2)[0].shape == (2, 17, 32)
    assert 'mask_token' in dict(model.named_parameters())


def test_plain_mode_outputs(tiny_arch):
    x = torch.randn(2, 3, 32, 32)
    shapes = {
        'raw': (2, 17, 32),
        'cls_token': (2, 32),
        'featmap': (2, 32, 4, 4),
        'avg_featmap': (2, 32),
    }
    for out_type, shape in shapes.items():
        model = _build(
            tiny_arch,
            mask_generator=None,
            out_type=out_type,
            out_indices=(0, -1),
        )
        outs = model(x)
        assert isinstance(outs, tuple) and len(outs) == 2
        assert outs[1].shape == shape
    raw = _build(tiny_arch, mask_generator=None, out_type='raw')
    featmap = _build(tiny_arch, mask_generator=None, out_type='featmap')
    featmap.load_state_dict(raw.state_dict())
    (r,), (f,) = raw(x), featmap(x)
    assert torch.equal(f[:, :, 1, 2], r[:, 1 + 1 * 4 + 2])  # row-major
    avg = _build(
        tiny_arch,
        mask_generator=None,
        out_type='avg_featmap',
        final_norm=False,
    )
    assert avg.norm is None and hasattr(avg, 'fc_norm')
    (a,) = avg(x)
    avg.out_type = 'raw'
    (tokens,) = avg(x)
    torch.testing.assert_close(a, avg.fc_norm(tokens[:, 1:].mean(1)))


def test_plain_mode_other_resolution(tiny_arch):
    model = _build(tiny_arch, mask_generator=None, out_type='featmap')
    assert model(torch.randn(1, 3, 48, 40))[0].shape == (1, 32, 6, 5)


def test_errors(tiny_arch):
    with pytest.raises(ValueError, match='not divisible by patch_size'):
        MAEViT(tiny_arch, img_size=30, patch_size=8)
    model = _build(tiny_arch)
    with pytest.raises(ValueError, match='not divisible by the patch size'):
        model(torch.randn(1, 3, 36, 32))
    with pytest.raises(KeyError, match=r"choose from \['b', 'h', 'l', 's'\]"):
        MAEViT('xl')
    with pytest.raises(ValueError, match='custom MAEViT arch'):
        MAEViT(dict(embed_dims=32))
    with pytest.raises(ValueError, match='out_type'):
        MAEViT(tiny_arch, img_size=32, patch_size=8, out_type='tokens')
    with pytest.raises(ValueError, match='out_indices'):
        MAEViT(tiny_arch, img_size=32, patch_size=8, out_indices=2)
    unequal = torch.zeros(2, 16, dtype=torch.bool)
    unequal[0, :4] = True
    unequal[1, :5] = True
    with pytest.raises(ValueError, match='same number'):
        model(torch.randn(2, 3, 32, 32), unequal)
    with pytest.raises(ValueError, match='bool'):
        model(torch.randn(2, 3, 32, 32), unequal.float())


def test_arch_zoo_and_official_names():
    model = MAEViT('b', mask_generator=None)
    assert model.embed_dims == 768 and model.num_layers == 12
    assert model.blocks[0].mlp.fc1.out_features == 3072
    assert model.pos_embed.shape == (1, 197, 768)
    # Trainable parameters of timm's vit_base_patch16_224 without a head.
    num = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert num == 85_647_360
    names = set(model.state_dict())
    for name in (
        'patch_embed.proj.weight',
        'cls_token',
        'pos_embed',
        'blocks.11.attn.qkv.weight',
        'blocks.0.mlp.fc2.bias',
        'norm.weight',
    ):
        assert name in names


def test_official_init(tiny_arch):
    model = _build(tiny_arch)
    w = model.patch_embed.proj.weight
    fan_in, fan_out = w[0].numel(), w.shape[0]
    assert w.abs().max() <= (6 / (fan_in + fan_out)) ** 0.5
    assert 0.005 < model.cls_token.std() < 0.05
    assert torch.all(model.blocks[0].attn.qkv.bias == 0)
    assert torch.all(model.norm.weight == 1)


def test_with_cp_matches(tiny_arch):
    x = torch.randn(2, 3, 32, 32)
    mask = torch.arange(16).repeat(2, 1) >= 4
    ref = _build(tiny_arch).train()
    cp = _build(tiny_arch, with_cp=True).train()
    cp.load_state_dict(ref.state_dict())
    out_ref, out_cp = ref(x, mask)[0], cp(x, mask)[0]
    torch.testing.assert_close(out_ref, out_cp)
    out_ref.sum().backward()
    out_cp.sum().backward()
    torch.testing.assert_close(
        ref.blocks[0].attn.qkv.weight.grad, cp.blocks[0].attn.qkv.weight.grad
    )


def test_frozen_stages(tiny_arch):
    model = _build(tiny_arch, frozen_stages=1, drop_path_rate=0.1)
    model.train()
    assert not model.patch_embed.proj.weight.requires_grad
    assert not model.cls_token.requires_grad
    assert not any(p.requires_grad for p in model.blocks[0].parameters())
    assert all(p.requires_grad for p in model.blocks[1].parameters())
    assert not model.blocks[0].training and model.blocks[1].training


def test_layer_depth_and_no_weight_decay(tiny_arch):
    model = _build(tiny_arch, encoder_mask_token=True)
    depth = model.get_layer_depth
    assert depth('backbone.cls_token', 'backbone.') == (0, 4)
    assert depth('backbone.pos_embed', 'backbone.') == (0, 4)
    assert depth('backbone.mask_token', 'backbone.') == (0, 4)
    assert depth('backbone.patch_embed.proj.weight', 'backbone.') == (0, 4)
    assert depth('backbone.blocks.0.norm1.weight', 'backbone.') == (1, 4)
    assert depth('backbone.blocks.1.mlp.fc2.bias', 'backbone.') == (2, 4)
    assert depth('backbone.norm.weight', 'backbone.') == (3, 4)
    assert depth('head.fc.weight', 'backbone.') == (3, 4)
    assert depth('blocks.1.attn.qkv.weight') == (2, 4)
    assert model.no_weight_decay() == {'pos_embed', 'cls_token', 'mask_token'}


def test_load_checkpoint_of_other_resolution(tiny_arch):
    small = _build(tiny_arch, img_size=16)  # 2x2 grid
    big = _build(tiny_arch, img_size=32)  # 4x4 grid
    state = small.state_dict()
    big.load_state_dict(state)
    assert big.pos_embed.shape == (1, 17, 32)
    assert torch.equal(big.cls_token, small.cls_token)


def test_builds_under_a_foreign_default_scope(tiny_arch):
    with DefaultScope.overwrite_default_scope('mmengine'):
        model = MODELS.build(
            dict(
                type='mmmim.MAEViT',
                arch=tiny_arch,
                img_size=32,
                patch_size=8,
                mask_generator=dict(type='GridMaskGenerator', cell_size=2),
            )
        )
    latent, mask = model(torch.randn(1, 3, 32, 32))
    assert latent.shape == (1, 5, 32) and mask.sum() == 12
