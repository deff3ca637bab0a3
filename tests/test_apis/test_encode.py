# Copyright (c) mmmim contributors. All rights reserved.
"""``mmmim.apis.encode``: every backbone, masking off, nothing changed.

The backbones are those of the registry-wide table
(``tests/test_models/test_every_component.py``); a new backbone fails
:func:`test_every_backbone_is_covered` until it gets a row here.
"""

import copy

import pytest
import torch

import mmmim.models.backbones as backbones
from mmmim.apis import encode, encode_pools
from mmmim.registry import MODELS

from ..test_models.test_every_component import COMPONENTS

#: name: (input shape, has a cls token, avg-pooled width, 'none' shape of
#: the last output without the batch axis).
CASES = {
    'MAEViT': ((2, 3, 32, 32), True, 32, (32, 4, 4)),
    'WindowedViT': ((2, 3, 32, 32), False, 32, (32, 4, 4)),
    'SimMIMViT': ((2, 3, 32, 32), True, 32, (32, 4, 4)),
    'SimMIMSwin': ((2, 3, 64, 64), False, 128, (128, 2, 2)),
    'VideoMAEViT': ((2, 3, 4, 32, 32), False, 32, (32, 2, 4, 4)),
    'ConvMAEViT': ((2, 3, 64, 64), False, 32, (32, 4, 4)),
    'ConvViT': ((2, 3, 64, 64), False, 32, (32, 2, 2)),
}
#: Backbones that mask in their default forward (the negative control).
MASKING = ('MAEViT', 'SimMIMViT', 'SimMIMSwin', 'VideoMAEViT', 'ConvMAEViT')


def build(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(COMPONENTS[name].cfg))
    model.init_weights()
    model.train()  # mmpretrain's Swin returns None here
    return model


def test_every_backbone_is_covered():
    names = set(backbones.__all__) - {'BaseViT'}
    assert names == set(CASES)


@pytest.mark.parametrize('name', sorted(CASES))
def test_pools_shapes_and_no_side_effects(name):
    shape, has_cls, width, map_shape = CASES[name]
    model = build(name)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    attrs = {
        k: getattr(model, k, None)
        for k in ('mask_generator', 'out_type', 'out_indices')
    }
    x = torch.randn(*shape)
    avg = encode(model, x, pool='avg')
    assert avg.shape == (2, width)
    assert torch.equal(encode(model, x, pool='avg'), avg)  # no mask drawn
    assert encode(model, x, pool='none').shape == (2, *map_shape)
    if has_cls:
        assert encode(model, x, pool='cls').shape == (2, width)
    else:
        with pytest.raises(ValueError, match="no cls token; use pool='avg'"):
            encode(model, x, pool='cls')
    # Mode, attributes and weights are as they were.
    assert model.training
    for key, value in attrs.items():
        assert getattr(model, key, None) is value, key
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize('name', MASKING)
def test_features_are_unmasked(name):
    """Negative control: the model's own (masked) forward differs."""
    shape = CASES[name][0]
    model = build(name)
    model.eval()
    x = torch.randn(*shape)
    features = encode(model, x, pool='none')
    with torch.no_grad():
        outs = model(x)
    masked = outs[0] if outs[0].dim() == 3 else outs[-1]
    if masked.dim() == 3:  # tokens [B, N, D] of the visible part
        assert masked.shape[1] < features.flatten(2).shape[-1]
    else:  # masked maps of the same shape
        assert masked.shape == features.shape
        assert not torch.allclose(masked, features)


def test_mae_features_equal_the_plain_encoder():
    """Known answer: the cls token of encode() is the cls token of the
    same weights built as a plain (fine-tuning style) encoder."""
    model = build('MAEViT')
    plain_cfg = dict(
        copy.deepcopy(COMPONENTS['MAEViT'].cfg),
        mask_generator=None,
        out_type='cls_token',
        out_indices=(0, 1),
    )
    plain = MODELS.build(plain_cfg)
    plain.load_state_dict(model.state_dict())
    plain.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = plain(x)
    got = encode(model, x, pool='cls', out_indices=[0, 1])
    assert torch.equal(got[0], expected[0])
    assert torch.equal(got[1], expected[1])
    assert not torch.equal(got[0], got[1])


@pytest.mark.parametrize('name', ['MAEViT', 'ConvViT'])
def test_outputs_come_in_the_order_asked(name):
    """Backbones run their blocks in order; encode hands the outputs back
    in the order of ``out_indices`` (a probe that asks for the last block
    and then all of them must not get block 0 as 'the last')."""
    model = build(name)
    x = torch.randn(2, 3, 32, 32)
    last, first = encode(model, x, pool='avg', out_indices=[-1, 0])
    assert torch.equal(last, encode(model, x, pool='avg', out_indices=-1))
    assert torch.equal(first, encode(model, x, pool='avg', out_indices=0))
    assert not torch.equal(last[:, : first.shape[1]], first)


def test_encode_pools_is_encode_per_pool():
    """One forward pass gives what one encode call per pool gives."""
    model = build('MAEViT')
    x = torch.randn(2, 3, 32, 32)
    requests = {'avg': [1, 0], 'cls': [-1], 'none': [0]}
    got = encode_pools(model, x, requests)
    assert list(got) == list(requests)
    for pool, indices in requests.items():
        expected = encode(model, x, pool=pool, out_indices=indices)
        assert all(torch.equal(g, e) for g, e in zip(got[pool], expected))
    assert not torch.equal(got['avg'][0], got['avg'][1])
    with pytest.raises(ValueError, match='pool must be one of'):
        encode_pools(model, x, {'max': [0]})
    with pytest.raises(ValueError, match='at least one'):
        encode_pools(model, x, {})


def test_convvit_gives_e1_to_e4():
    model = build('ConvViT')
    maps = encode(
        model, torch.randn(2, 3, 64, 64), pool='none', out_indices=[0, 1, 2, 3]
    )
    assert [tuple(m.shape) for m in maps] == [
        (2, 16, 16, 16),
        (2, 24, 8, 8),
        (2, 32, 4, 4),
        (2, 32, 2, 2),
    ]
    pooled = encode(model, torch.randn(2, 3, 64, 64), 'avg', out_indices=0)
    assert pooled.shape == (2, 16)


def test_videomae_pools_over_space_time():
    model = build('VideoMAEViT')
    x = torch.randn(2, 3, 4, 32, 32)
    tokens = encode(model, x, pool='none')  # [B, D, t, h, w]
    avg = encode(model, x, pool='avg')
    torch.testing.assert_close(avg, tokens.flatten(2).mean(-1))


@pytest.mark.parametrize(
    'name, shape, match',
    [
        ('MAEViT', (2, 3, 4, 32, 32), 'is an image encoder'),
        ('VideoMAEViT', (2, 3, 32, 32), 'encodes clips'),
        ('MAEViT', (2, 3, 30, 32), 'divisible by 8, got 30x32'),
        ('ConvViT', (2, 3, 40, 64), 'divisible by 16, got 40x64'),
        ('SimMIMSwin', (2, 3, 48, 48), 'divisible by 32, got 48x48'),
    ],
)
def test_bad_inputs(name, shape, match):
    with pytest.raises(ValueError, match=match):
        encode(build(name), torch.randn(*shape), pool='avg')


def test_bad_arguments():
    model = build('MAEViT')
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(ValueError, match='pool must be one of'):
        encode(model, x, pool='max')
    with pytest.raises(ValueError, match='out of range .* 2 outputs'):
        encode(model, x, out_indices=2)
    swin = MODELS.build(
        dict(copy.deepcopy(COMPONENTS['SimMIMSwin'].cfg), out_indices=(3,))
    )
    with pytest.raises(ValueError, match=r'output norms for stages \(3,\)'):
        encode(swin, torch.randn(2, 3, 64, 64), 'avg', out_indices=0)
