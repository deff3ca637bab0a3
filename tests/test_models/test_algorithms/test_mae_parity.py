# Copyright (c) mmmim contributors. All rights reserved.
"""Converted official MAE weights reproduce the official model.

The references in ``tests/data/parity/mae_<arch>.pth`` were produced by the
official ``models_mae.py`` (facebookresearch/mae efb2a80) with
``tools/analysis_tools/make_mae_parity_refs.py``: synthesised weights, a
fixed input and the official random mask. Here the same weights go through
``tools/model_converters/mae_to_mmmim.py`` into mmmim's MAE, which must
give the official mask-conditioned ``pred`` and ``loss``.
"""

import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.runner import load_checkpoint

from mmmim.models import MAE
from mmmim.testing import parity_inputs, synthesize_weights

REPO = Path(__file__).resolve().parents[3]
REFS = REPO / 'tests' / 'data' / 'parity'
# arch name -> (backbone arch, patch size)
GEOMETRY = dict(base=('b', 16), large=('l', 16), huge=('h', 14))


def _load_converter():
    path = REPO / 'tools' / 'model_converters' / 'mae_to_mmmim.py'
    spec = importlib.util.spec_from_file_location('mae_to_mmmim', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build_mae(arch: str, norm_pix: bool, img_size: int) -> MAE:
    backbone_arch, patch = GEOMETRY[arch]
    model = MAE(
        backbone=dict(
            type='MAEViT',
            arch=backbone_arch,
            img_size=img_size,
            patch_size=patch,
        ),
        neck=dict(
            type='MAEDecoder',
            num_patches=(img_size // patch) ** 2,
            patch_size=patch,
            embed_dims=dict(b=768, l=1024, h=1280)[backbone_arch],
        ),
        head=dict(
            type='PixelReconstructionHead', patch_size=patch, norm_pix=norm_pix
        ),
    )
    return model.eval()


def _official_shapes(model: MAE) -> dict:
    """Official key names and shapes (the converter's inverse mapping)."""
    shapes = {}
    for key, value in model.state_dict().items():
        prefix, _, name = key.partition('.')
        assert prefix in ('backbone', 'neck'), key
        shapes[name] = tuple(value.shape)
    return shapes


def _check_against_reference(model: MAE, ref: dict) -> None:
    inputs = parity_inputs(
        ref['mask'].shape[0], ref['img_size'], seed=ref['seed'] + 1
    )
    with torch.no_grad():
        out = model.reconstruct(inputs, ref['mask'])
    assert torch.equal(out['mask'], ref['mask'])
    torch.testing.assert_close(
        out['loss'].double(), ref['loss'], rtol=1e-5, atol=0
    )
    fingerprint = ref['pred']
    rows = out['pred'][:, fingerprint['patch_ids']]
    torch.testing.assert_close(rows, fingerprint['rows'], rtol=1e-4, atol=1e-5)
    total = out['pred'].double().sum()
    abs_total = out['pred'].double().abs().sum()
    torch.testing.assert_close(
        abs_total, fingerprint['abs_sum'], rtol=1e-5, atol=0
    )
    torch.testing.assert_close(
        total, fingerprint['sum'], rtol=0, atol=1e-5 * abs_total.item()
    )


def test_converted_base_checkpoint_file_matches_official(tmp_path):
    """Full path: official-format file -> converter CLI -> init from file."""
    ref = torch.load(REFS / 'mae_base.pth', weights_only=True)
    model = _build_mae('base', ref['norm_pix'], ref['img_size'])
    weights = synthesize_weights(_official_shapes(model), ref['seed'])
    src, dst = tmp_path / 'official.pth', tmp_path / 'mmmim.pth'
    torch.save({'model': weights}, src)
    _load_converter().main([str(src), str(dst)])
    converted = torch.load(dst, weights_only=True)
    assert converted['meta']['arch']['embed_dims'] == 768
    assert converted['meta']['arch']['decoder_num_layers'] == 8
    # The synthesised file has no fixed pos-embed tables (the model builds
    # them), so exactly those are missing.
    missing = set(model.state_dict()) - set(converted['state_dict'])
    assert missing == {'backbone.pos_embed', 'neck.decoder_pos_embed'}
    load_checkpoint(model, str(dst), map_location='cpu', strict=False)
    _check_against_reference(model, ref)


@pytest.mark.parametrize('arch', ['large', 'huge'])
def test_converted_weights_match_official(arch):
    ref = torch.load(REFS / f'mae_{arch}.pth', weights_only=True)
    model = _build_mae(arch, ref['norm_pix'], ref['img_size'])
    official = synthesize_weights(_official_shapes(model), ref['seed'])
    converted, meta = _load_converter().convert(official, arch)
    del official
    assert meta['arch']['patch_size'] == GEOMETRY[arch][1]
    result = model.load_state_dict(converted, strict=False)
    assert set(result.missing_keys) == {
        'backbone.pos_embed',
        'neck.decoder_pos_embed',
    }
    assert not result.unexpected_keys
    _check_against_reference(model, ref)


def test_reference_is_sensitive_to_the_weights():
    """Perturbing one weight breaks the match, so the check has teeth."""
    ref = torch.load(REFS / 'mae_base.pth', weights_only=True)
    model = _build_mae('base', ref['norm_pix'], ref['img_size'])
    official = synthesize_weights(_official_shapes(model), ref['seed'])
    converted, _ = _load_converter().convert(official, 'base')
    converted['neck.decoder_pred.bias'][0] += 1e-2
    model.load_state_dict(converted, strict=False)
    with pytest.raises(AssertionError):
        _check_against_reference(model, ref)
