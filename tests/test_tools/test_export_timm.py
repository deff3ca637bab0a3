# Copyright (c) mmmim contributors. All rights reserved.
"""mmmim <-> timm (mmmim/utils/exports/timm.py and its command lines):
feature and logit parity, strict loading, bit-identical round trips,
refusals, and negative controls."""

import importlib.util
from pathlib import Path

import pytest
import torch

from mmmim.models import MAEViT, SimMIMSwin, SimMIMViT, VideoMAEViT
from mmmim.utils.exports import ExportError
from mmmim.utils.exports import timm as timm_export
from mmmim.utils.exports.common import (
    build_model_from_config,
    model_state_dict,
)

REPO = Path(__file__).resolve().parents[2]
MAE_CLS = 'configs/mae/benchmarks/cls/vit-base-p16_8xb128-coslr-100e_in1k.py'
MAE_LINEAR = (
    'configs/mae/benchmarks/cls/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py'
)
SIMMIM_VIT_CLS = 'configs/simmim/benchmarks/cls/vit-base-p16_16xb128-' + (
    'coslr-100e_in1k.py'
)
SWIN_CLS = (
    'configs/simmim/benchmarks/cls/swin-base-w7_16xb128-coslr-100e_in1k.py'
)
TOL = 1e-5


def _tool(name):
    path = REPO / 'tools' / 'model_converters' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _perturb(model, seed=0):
    """Random weights everywhere (not the structured init), eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            noise = torch.randn(param.shape, generator=gen)
            param.add_(noise.to(param.dtype) * 0.02)
    model.eval()  # mmpretrain's Swin.train() returns None
    return model


def _rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def _assert_round_trip(model, timm_model):
    back, _ = timm_export.from_timm_state_dict(timm_model.state_dict())
    own = model_state_dict(model)
    assert set(back) == set(own)
    for key, value in own.items():
        assert torch.equal(back[key], value), key
    if isinstance(model, (MAEViT, SimMIMViT, SimMIMSwin)):  # bare
        back = {k[len('backbone.') :]: v for k, v in back.items()}
    model.load_state_dict(back, strict=True)


@pytest.mark.parametrize(
    'arch,patch,size', [('b', 16, 32), ('l', 16, 32), ('h', 14, 28)]
)
def test_mae_encoder_matches_timm(arch, patch, size):
    """MAE ViT-B/L/H encoders (real widths and depths, a 2x2 grid): same
    features as timm's ViT, strict load, bit-identical round trip."""
    torch.manual_seed(0)
    model = MAEViT(
        arch=arch,
        img_size=size,
        patch_size=patch,
        mask_generator=None,
        out_type='raw',
    ).eval()
    with torch.no_grad():
        model.cls_token.normal_()
    timm_model, meta = timm_export.export_to_timm(model)
    assert meta['model_name'].startswith(
        {'b': 'vit_base', 'l': 'vit_large', 'h': 'vit_huge'}[arch]
    )
    assert meta['kwargs']['global_pool'] == 'token'
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        ours = model(x)[0]
        theirs = timm_model.forward_features(x)
    assert ours.shape == theirs.shape == (2, 5, model.embed_dims)
    assert _rel(ours, theirs) < TOL
    _assert_round_trip(model, timm_model)


def test_mae_finetuned_classifier_logits_match_timm():
    """The global-pool fine-tuning config (fc_norm, no final norm, 1000
    classes) gives timm's logits."""
    model = _perturb(build_model_from_config(str(REPO / MAE_CLS)))
    timm_model, meta = timm_export.export_to_timm(model)
    kwargs = meta['kwargs']
    assert kwargs['global_pool'] == 'avg' and kwargs['fc_norm'] is True
    assert kwargs['num_classes'] == 1000
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        ours = model(x, mode='tensor')
        theirs = timm_model(x)
    assert ours.shape == theirs.shape == (1, 1000)
    assert _rel(ours, theirs) < TOL
    _assert_round_trip(model, timm_model)


@pytest.mark.parametrize('mode', ['shared', 'none'])
def test_simmim_vit_encoder_matches_timm_beit(mode):
    """SimMIMViT-B (shared / per-block / no relative bias, layer scale)
    equals timm's Beit; the mask token is dropped."""
    torch.manual_seed(0)
    model = _perturb(
        SimMIMViT(arch='b', img_size=32, rel_pos_bias=mode, out_type='raw')
    )
    timm_model, meta = timm_export.export_to_timm(model)
    assert meta['dropped'] == ['backbone.mask_token']
    assert meta['kwargs']['use_shared_rel_pos_bias'] == (mode == 'shared')
    assert meta['kwargs']['use_rel_pos_bias'] == (mode == 'per_layer')
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ours = model(x)[0]
        theirs = timm_model.forward_features(x)
    assert _rel(ours, theirs) < TOL


def test_simmim_vit_classifier_logits_match_timm_beit():
    model = _perturb(build_model_from_config(str(REPO / SIMMIM_VIT_CLS)))
    timm_model, meta = timm_export.export_to_timm(model)
    assert meta['kwargs']['use_rel_pos_bias'] is True
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        ours = model(x, mode='tensor')
        theirs = timm_model(x)
    assert _rel(ours, theirs) < TOL
    _assert_round_trip(model, timm_model)


def test_simmim_swin_encoder_matches_timm():
    """Swin-B, window 6 at 192 px (the pre-training geometry)."""
    torch.manual_seed(0)
    model = _perturb(SimMIMSwin(arch='b', img_size=192, window_size=6))
    timm_model, meta = timm_export.export_to_timm(model)
    assert meta['kwargs']['window_size'] == 6
    x = torch.randn(1, 3, 192, 192)
    with torch.no_grad():
        ours = model(x)[0]
        theirs = timm_model.forward_features(x).permute(0, 3, 1, 2)
    assert ours.shape == theirs.shape == (1, 1024, 6, 6)
    assert _rel(ours, theirs) < TOL


def test_simmim_swin_classifier_logits_match_timm():
    """Swin-B, window 7 at 224 px, global pooling and a linear head."""
    model = _perturb(build_model_from_config(str(REPO / SWIN_CLS)))
    timm_model, _ = timm_export.export_to_timm(model)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        ours = model(x, mode='tensor')
        theirs = timm_model(x)
    assert _rel(ours, theirs) < TOL
    _assert_round_trip(model, timm_model)


def test_patch_merging_reorder_inverts_the_converter():
    from mmmim.utils.converters.simmim import (
        unfold_order_vector,
        unfold_order_weight,
    )

    weight, vector = torch.randn(8, 16), torch.randn(16)
    back = timm_export._official_merge_weight(unfold_order_weight(weight))
    assert torch.equal(back, weight)
    back = timm_export._official_merge_vector(unfold_order_vector(vector))
    assert torch.equal(back, vector)


def test_unsupported_models_are_refused():
    video = VideoMAEViT(arch='s', img_size=32, num_frames=4)
    with pytest.raises(ExportError, match='video'):
        timm_export.export_to_timm(video)
    with pytest.raises(ExportError, match='absolute position'):
        timm_export.timm_model_args(
            SimMIMSwin(arch='t', img_size=64, use_abs_pos_embed=True)
        )
    with pytest.raises(ExportError, match='multiple of window_size'):
        timm_export.timm_model_args(
            SimMIMSwin(arch='t', img_size=64, window_size=6)
        )
    both = MAEViT(
        arch='b', img_size=32, mask_generator=None, out_type='avg_featmap'
    )
    with pytest.raises(ExportError, match='final norm and fc_norm'):
        timm_export.timm_model_args(both)
    linear = build_model_from_config(str(REPO / MAE_LINEAR))
    with pytest.raises(ExportError, match='neck'):
        timm_export.timm_model_args(linear)
    with pytest.raises(ExportError, match='not a timm ViT'):
        timm_export.from_timm_state_dict({'foo.weight': torch.zeros(1)})


def test_broken_rule_fails_strict_load(monkeypatch):
    """Negative control: a rule that misnames the final norm is caught by
    the strict load."""
    rules = list(timm_export.TO_TIMM_RULES['vit'])
    rules.insert(0, (r'backbone\.norm\.', 'final_norm.'))
    monkeypatch.setitem(timm_export.TO_TIMM_RULES, 'vit', tuple(rules))
    model = MAEViT(arch='b', img_size=32, mask_generator=None)
    with pytest.raises(RuntimeError, match='final_norm'):
        timm_export.export_to_timm(model)


def test_broken_reorder_fails_parity(monkeypatch):
    """Negative control: without the patch-merging reorder the weights
    still load (same shapes) but the features differ."""
    monkeypatch.setattr(
        timm_export, '_to_official_order', lambda key, value: value
    )
    torch.manual_seed(0)
    model = _perturb(SimMIMSwin(arch='t', img_size=128, window_size=4))
    timm_model, _ = timm_export.export_to_timm(model)
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        ours = model(x)[0]
        theirs = timm_model.forward_features(x).permute(0, 3, 1, 2)
    assert _rel(ours, theirs) > 1e-3


def test_command_lines_round_trip(tmp_path):
    """mmmim_to_timm.py then timm_to_mmmim.py --config: the same tensors;
    wrong inputs are named."""
    config = str(REPO / MAE_CLS)
    model = _perturb(build_model_from_config(config))
    ckpt, dst = tmp_path / 'mmmim.pth', tmp_path / 'timm.safetensors'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    _tool('mmmim_to_timm').main([config, str(ckpt), str(dst)])
    back = tmp_path / 'back.pth'
    _tool('timm_to_mmmim').main([str(dst), str(back), '--config', config])
    saved = torch.load(back, weights_only=True)
    assert saved['meta']['kind'] == 'vit'
    for key, value in model.state_dict().items():
        assert torch.equal(saved['state_dict'][key], value), key
    with pytest.raises(SystemExit, match='is the input|is SRC'):
        _tool('timm_to_mmmim').main([str(dst), str(dst)])
    with pytest.raises(KeyError, match='does not fit the model'):
        _tool('timm_to_mmmim').main(
            [str(dst), str(back), '--config', str(REPO / SWIN_CLS)]
        )
