# Copyright (c) mmmim contributors. All rights reserved.
"""Converted official VideoMAE weights reproduce the official model.

The references in ``tests/data/parity/videomae_{pretrain,finetune}.pth``
were produced by the official ``modeling_pretrain.py`` /
``modeling_finetune.py`` (MCG-NJU/VideoMAE 14ef8d8) with
``tools/analysis_tools/make_videomae_parity_refs.py``: synthesised weights
from the official key names, a fixed 16x224x224 clip, the official tube
mask, the loss as ``engine_for_pretraining.py`` computes it, and the
fine-tuned logits. The same weights go through
``tools/model_converters/videomae_to_mmmim.py`` into mmmim's models.
"""

import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.runner import load_checkpoint

from mmmim.models import VideoMAE
from mmmim.registry import MODELS
from mmmim.testing import parity_inputs, synthesize_weights

REPO = Path(__file__).resolve().parents[3]
REFS = REPO / 'tests' / 'data' / 'parity'


def _load_converter():
    path = REPO / 'tools' / 'model_converters' / 'videomae_to_mmmim.py'
    spec = importlib.util.spec_from_file_location('videomae_to_mmmim', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build_pretrain() -> VideoMAE:
    return VideoMAE(
        backbone=dict(type='VideoMAEViT', arch='b'),
        neck=dict(type='VideoMAEDecoder', decoder_num_layers=4),
        head=dict(type='VideoReconstructionHead'),
    ).eval()


def _build_finetune():
    return MODELS.build(
        dict(
            type='mmmim.VideoClassifier',
            # The head's default loss is unprefixed: build in mmpretrain's
            # scope whatever the current default scope is (as the configs).
            _scope_='mmpretrain',
            backbone=dict(
                type='mmmim.VideoMAEViT',
                arch='b',
                mask_generator=None,
                out_type='avg_featmap',
                final_norm=False,
            ),
            head=dict(
                type='mmpretrain.LinearClsHead',
                num_classes=400,
                in_channels=768,
            ),
        )
    ).eval()


def _check_pretrain(model: VideoMAE, ref: dict) -> None:
    videos = parity_inputs(
        1, ref['img_size'], seed=ref['seed'] + 1, frames=ref['frames']
    )
    with torch.no_grad():
        out = model.reconstruct(videos, ref['mask'])
    torch.testing.assert_close(
        out['loss'].double(), ref['loss'], rtol=1e-5, atol=0
    )
    # The official decoder returns the masked tokens only, ascending.
    masked_ids = torch.nonzero(ref['mask'][0]).flatten()
    pred = out['pred'][:, masked_ids]
    fingerprint = ref['pred']
    torch.testing.assert_close(
        pred[:, fingerprint['patch_ids']],
        fingerprint['rows'],
        rtol=1e-4,
        atol=1e-5,
    )
    torch.testing.assert_close(
        pred.double().abs().sum(), fingerprint['abs_sum'], rtol=1e-5, atol=0
    )
    # Visible tokens are not predicted.
    assert out['pred'][0, ~ref['mask'][0]].abs().sum() == 0


def test_converted_pretrain_checkpoint_matches_official(tmp_path):
    ref = torch.load(REFS / 'videomae_pretrain.pth', weights_only=True)
    assert int(ref['mask'][0].sum()) == 1408  # 8 slots x 176
    model = _build_pretrain()
    src, dst = tmp_path / 'official.pth', tmp_path / 'mmmim.pth'
    torch.save({'model': synthesize_weights(ref['shapes'], ref['seed'])}, src)
    _load_converter().main([str(src), str(dst)])
    converted = torch.load(dst, weights_only=True)
    assert converted['meta']['arch']['decoder_num_layers'] == 4
    assert converted['meta']['arch']['tubelet_size'] == 2
    # Every tensor of the model comes from the checkpoint (the sinusoid
    # tables are buffers outside the state dict).
    assert set(converted['state_dict']) == set(model.state_dict())
    load_checkpoint(model, str(dst), map_location='cpu', strict=True)
    _check_pretrain(model, ref)


def test_converted_finetune_checkpoint_matches_official():
    ref = torch.load(REFS / 'videomae_finetune.pth', weights_only=True)
    model = _build_finetune()
    official = synthesize_weights(ref['shapes'], ref['seed'])
    converted, meta = _load_converter().convert(official, 'official')
    assert meta['arch']['num_classes'] == 400
    result = model.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    videos = parity_inputs(
        1, ref['img_size'], seed=ref['seed'] + 1, frames=ref['frames']
    )
    with torch.no_grad():
        logits = model.head(model.extract_feat(videos))
    torch.testing.assert_close(
        logits.double(), ref['logits'], rtol=1e-5, atol=1e-5
    )


def test_pretrain_reference_is_sensitive_to_the_weights():
    ref = torch.load(REFS / 'videomae_pretrain.pth', weights_only=True)
    model = _build_pretrain()
    converted, _ = _load_converter().convert(
        synthesize_weights(ref['shapes'], ref['seed'])
    )
    converted['neck.head.bias'][0] += 1e-2
    model.load_state_dict(converted, strict=True)
    with pytest.raises(AssertionError):
        _check_pretrain(model, ref)


@pytest.mark.parametrize(
    'shapes, message',
    [
        ({'patch_embed.proj.weight': (768, 3, 16, 16)}, 'image model'),
        ({'cls_token': (1, 1, 8)}, 'not a VideoMAE checkpoint'),
    ],
)
def test_converter_refuses_other_methods(shapes, message):
    with pytest.raises(ValueError, match=message):
        _load_converter().convert(synthesize_weights(shapes), 'x.pth')
