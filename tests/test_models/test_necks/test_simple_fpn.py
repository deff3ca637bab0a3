# Copyright (c) mmmim contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS, DefaultScope
from mmpretrain.models.utils import LayerNorm2d

from mmmim.models import SimpleFPN

from ...installed import require


def test_norms_are_channel_layer_norms_with_vitdet_eps():
    """mmcv's build_norm_layer defaults eps to 1e-5: the neck must pass
    ViTDet's 1e-6 explicitly, and normalise over channels."""
    neck = SimpleFPN(in_channels=8, out_channels=8)
    norms = [m for m in neck.modules() if isinstance(m, LayerNorm2d)]
    assert norms and {m.eps for m in norms} == {1e-6}
    norm = norms[0]
    with torch.no_grad():
        norm.weight.uniform_()
        norm.bias.uniform_()
    channels = norm.normalized_shape[0]
    x = torch.randn(2, channels, 5, 7)
    expected = F.layer_norm(
        x.permute(0, 2, 3, 1), (channels,), norm.weight, norm.bias, 1e-6
    ).permute(0, 3, 1, 2)
    torch.testing.assert_close(norm(x), expected)


def test_pyramid_shapes_and_channels():
    neck = SimpleFPN(in_channels=32, out_channels=16, num_outs=5)
    neck.init_weights()
    outs = neck((torch.randn(2, 32, 8, 12),))
    assert [tuple(o.shape) for o in outs] == [
        (2, 16, 32, 48),
        (2, 16, 16, 24),
        (2, 16, 8, 12),
        (2, 16, 4, 6),
        (2, 16, 2, 3),
    ]
    # Channels halve with every upsampling: C/4, C/2, C, C.
    assert [m.conv.in_channels for m in neck.lateral_convs] == [8, 16, 32, 32]
    sum(o.sum() for o in outs).backward()
    assert all(p.grad is not None for p in neck.parameters())


def test_subset_of_scales_and_errors():
    neck = SimpleFPN(in_channels=8, out_channels=8, scales=(2, 1), num_outs=3)
    outs = neck([torch.randn(1, 4, 4, 4), torch.randn(1, 8, 4, 4)])
    assert [o.shape[-1] for o in outs] == [8, 4, 2]
    with pytest.raises(ValueError, match='scales'):
        SimpleFPN(in_channels=8, scales=(8,))
    with pytest.raises(ValueError, match='decrease'):
        SimpleFPN(in_channels=8, scales=(1, 2))
    with pytest.raises(ValueError, match='num_outs'):
        SimpleFPN(in_channels=8, num_outs=2)
    with pytest.raises(ValueError, match='input channels'):
        neck((torch.randn(1, 4, 4, 4),))


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_builds_from_foreign_scope(scope):
    require(scope)
    cfg = dict(
        type='mmmim.SimpleFPN',
        in_channels=8,
        out_channels=8,
        norm_cfg=dict(type='mmpretrain.LN2d', eps=1e-6),
    )
    with DefaultScope.overwrite_default_scope(scope):
        neck = MODELS.build(cfg)
    assert isinstance(neck.fpn_convs[0].norm, LayerNorm2d)
    assert neck.fpn_convs[0].norm.eps == 1e-6


def test_a_bare_tensor_is_refused_with_the_fix():
    neck = SimpleFPN(in_channels=8, out_channels=8)
    with pytest.raises(TypeError, match=r'wrap a single map as \(x,\)'):
        neck(torch.randn(2, 8, 4, 4))
