# Copyright (c) mmmim contributors. All rights reserved.
"""Converted official ConvMAE weights reproduce the official models.

The references in ``tests/data/parity/convmae_*.pth`` were produced by the
official code (Alpha-VL/ConvMAE 4c97b4c) with
``tools/analysis_tools/make_convmae_parity_refs.py``: synthesised weights,
a fixed input and, for pre-training, the official random mask. Here the
same weights go through ``tools/model_converters/convmae_to_mmmim.py``
into mmmim's models:

* ``ConvMAE.reconstruct`` gives the official mask-conditioned ``pred`` and
  ``loss`` (``models_convmae.py``);
* ``mmpretrain.ImageClassifier`` with ``mmmim.ConvViT`` gives the official
  fine-tuned logits (``models_convvit.py``, global pool);
* ``ConvViT`` at toy size gives the E1-E4 of the official detector
  backbone (``DET/models/convmae.py``) at toy size, with its position
  table resized by the official loader (``convmae_det_tiny.pth``); with
  ``MMMIM_SLOW_TESTS=1`` also at the real size, 1024 x 1024 (about a
  minute on one core).

The pre-training and fine-tuning references store the official key names
and shapes (``shapes``); the weights are rebuilt under those names,
converted with ``mmmim/utils/converters/convmae.py`` and loaded strictly.
Negative controls break one rule of the converter's table (or, for the
detector backbone, which needs no converter, swap two blocks) and require
the strict load or the comparison to fail.
"""

import importlib.util
import os
from pathlib import Path

import pytest
import torch

from mmmim.models import ConvMAE, ConvViT
from mmmim.models.utils import build_2d_sincos_pos_embed
from mmmim.testing import (
    official_pretrain_weights,
    parity_inputs,
    synthesize_weights,
)
from mmmim.utils.converters import convert_state_dict
from mmmim.utils.converters import convmae as convmae_converter

REPO = Path(__file__).resolve().parents[3]
REFS = REPO / 'tests' / 'data' / 'parity'


def _load_converter():
    path = REPO / 'tools' / 'model_converters' / 'convmae_to_mmmim.py'
    spec = importlib.util.spec_from_file_location('convmae_to_mmmim', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _finetune_pos_embed(seed: int) -> torch.Tensor:
    """The reference script's learned-looking 14 x 14 table."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(1, 196, 768, generator=gen)
    return build_2d_sincos_pos_embed(14, 768) + 0.02 * noise


def _official_shapes(model: torch.nn.Module, heads: dict) -> dict:
    """Official key names and shapes of learnable parameters."""
    shapes = {}
    for key, value in model.named_parameters():
        for prefix, official in heads.items():
            if key.startswith(prefix):
                shapes[official + key[len(prefix) :]] = tuple(value.shape)
                break
        else:
            raise AssertionError(key)
    return shapes


def _build_convmae() -> ConvMAE:
    model = ConvMAE(
        backbone=dict(type='ConvMAEViT', arch='b'),
        neck=dict(type='ConvMAEDecoder'),
        head=dict(type='PixelReconstructionHead', patch_size=16),
        data_preprocessor=dict(type='BaseDataPreprocessor'),
    )
    return model.eval()


#: Swap the MLP input weights of stage-3 blocks 0 and 1 (same shapes):
#: the strict load succeeds, only the outputs can tell.
SWAP_FC1 = (
    (r'blocks3\.0\.mlp\.fc1\.', 'backbone.blocks3.1.mlp.fc1.'),
    (r'blocks3\.1\.mlp\.fc1\.', 'backbone.blocks3.0.mlp.fc1.'),
)


def _check_pretrain(model: ConvMAE, ref: dict) -> None:
    inputs = parity_inputs(
        ref['mask'].shape[0], ref['img_size'], seed=ref['seed'] + 1
    )
    captured = []
    hook = model.backbone.register_forward_hook(
        lambda module, args, output: captured.append(output[0])
    )
    with torch.no_grad():
        out = model.reconstruct(inputs, ref['mask'])
    hook.remove()
    latent = captured[0]
    assert torch.equal(out['mask'], ref['mask'])
    latent = latent.double()
    scale = ref['latent']['abs_sum'].item()
    for key, value in (
        ('sum', latent.sum()),
        ('abs_sum', latent.abs().sum()),
        ('sq_sum', latent.pow(2).sum()),
    ):
        torch.testing.assert_close(
            value, ref['latent'][key], rtol=1e-5, atol=1e-6 * scale
        )
    torch.testing.assert_close(
        out['loss'].double(), ref['loss'], rtol=1e-5, atol=0
    )
    fingerprint = ref['pred']
    rows = out['pred'][:, fingerprint['patch_ids']]
    torch.testing.assert_close(rows, fingerprint['rows'], rtol=1e-4, atol=1e-5)
    abs_total = out['pred'].double().abs().sum()
    torch.testing.assert_close(
        abs_total, fingerprint['abs_sum'], rtol=1e-5, atol=0
    )
    torch.testing.assert_close(
        out['pred'].double().sum(),
        fingerprint['sum'],
        rtol=0,
        atol=1e-5 * abs_total.item(),
    )


def test_converted_pretrain_weights_match_official():
    ref = torch.load(REFS / 'convmae_pretrain.pth', weights_only=True)
    model = _build_convmae()
    # The CLI (file with 'args', safe loading) is covered on small files
    # in tests/test_tools/test_convmae_converter.py.
    official = official_pretrain_weights(model, ref)
    converted, meta = _load_converter().convert(official, 'official')
    assert converted.keys() == convert_state_dict(official, 'convmae').keys()
    del official
    assert meta['kind'] == 'pretrain'
    assert meta['arch']['embed_dims'] == [256, 384, 768]
    assert meta['arch']['num_layers'] == [2, 2, 11]
    assert meta['arch']['patch_sizes'] == [4, 2, 2]
    assert meta['arch']['decoder_num_layers'] == 8
    model.load_state_dict(converted, strict=True)
    _check_pretrain(model, ref)
    # The check has teeth: a small change of one stage-1 weight (reachable
    # only through the masked convolutions) breaks the match.
    with torch.no_grad():
        model.backbone.blocks1[0].attn.weight[0, 0, 2, 2] += 0.05
    with pytest.raises(AssertionError):
        _check_pretrain(model, ref)


@pytest.mark.parametrize(
    'broken, error',
    [
        (SWAP_FC1, AssertionError),  # loads, but the outputs differ
        # The stage-1 decode conv sent to stage 2's: strict load fails.
        (
            ((r'stage1_output_decode\.', 'backbone.stage2_output_decode.'),),
            RuntimeError,
        ),
    ],
)
def test_broken_converter_rule_fails_the_pretrain_check(
    monkeypatch, broken, error
):
    ref = torch.load(REFS / 'convmae_pretrain.pth', weights_only=True)
    model = _build_convmae()
    official = official_pretrain_weights(model, ref)
    monkeypatch.setattr(
        convmae_converter, 'RULES', (*broken, *convmae_converter.RULES)
    )
    with pytest.raises(error):
        model.load_state_dict(
            convert_state_dict(official, 'convmae'), strict=True
        )
        _check_pretrain(model, ref)


def _build_classifier(num_classes: int):
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

    return MMPRETRAIN_MODELS.build(
        dict(
            type='mmpretrain.ImageClassifier',
            # Nested defaults (ClsDataPreprocessor) resolve in mmpretrain.
            _scope_='mmpretrain',
            backbone=dict(
                type='mmmim.ConvViT',
                arch='b',
                out_type='avg_featmap',
                out_indices=(2,),
                window_size=None,
                use_rel_pos_bias=False,
                pos_embed_trainable=True,
                drop_path_rate=0.1,
            ),
            head=dict(
                type='mmpretrain.LinearClsHead',
                num_classes=num_classes,
                in_channels=768,
            ),
        )
    ).eval()


def _official_finetune_weights(ref: dict) -> dict:
    official = synthesize_weights(ref['shapes'], ref['seed'])
    official['pos_embed'] = _finetune_pos_embed(ref['pos_embed_seed'])
    assert set(official) == set(ref['shapes'])
    return official


def _check_logits(model, ref: dict) -> None:
    inputs = parity_inputs(2, ref['img_size'], seed=ref['input_seed'])
    with torch.no_grad():
        logits = model(inputs, mode='tensor')
    torch.testing.assert_close(
        logits.double(), ref['logits'], rtol=1e-5, atol=1e-5
    )


def test_converted_finetune_weights_match_official_logits():
    ref = torch.load(REFS / 'convmae_finetune.pth', weights_only=True)
    model = _build_classifier(ref['num_classes'])
    official = _official_finetune_weights(ref)
    converted, meta = _load_converter().convert(official, 'finetune')
    del official
    assert meta['kind'] == 'finetune'
    assert meta['arch']['num_classes'] == ref['num_classes']
    model.load_state_dict(converted, strict=True)
    _check_logits(model, ref)


@pytest.mark.parametrize(
    'broken, error',
    [
        (SWAP_FC1, AssertionError),
        # The classifier sent into the backbone: strict load fails.
        (((r'head\.', 'backbone.head.'),), RuntimeError),
    ],
)
def test_broken_converter_rule_fails_the_finetune_check(
    monkeypatch, broken, error
):
    ref = torch.load(REFS / 'convmae_finetune.pth', weights_only=True)
    model = _build_classifier(ref['num_classes'])
    official = _official_finetune_weights(ref)
    monkeypatch.setattr(
        convmae_converter, 'RULES', (*broken, *convmae_converter.RULES)
    )
    with pytest.raises(error):
        model.load_state_dict(
            convert_state_dict(official, 'convmae'), strict=True
        )
        _check_logits(model, ref)


def _build_tiny_det(ref: dict) -> ConvViT:
    arch = ref['arch']
    return ConvViT(
        arch=dict(
            embed_dims=arch['embed_dims'],
            num_layers=arch['num_layers'],
            num_heads=arch['heads'],
        ),
        img_size=ref['img_size'],
        window_size=ref['window_size'],
        global_attn_indexes=ref['global_attn_indexes'],
    ).eval()


def _official_tiny_det_weights(ref: dict) -> dict:
    """Synthesised weights under the official names and the 4 x 4
    pre-training position table the official loader resized."""
    official = synthesize_weights(ref['shapes'], ref['seed'])
    gen = torch.Generator().manual_seed(ref['pos_embed_seed'])
    official['pos_embed'] = 0.1 * torch.randn(
        ref['pretrain_pos_embed_shape'], generator=gen
    )
    return official


def _check_det(model: ConvViT, ref: dict) -> None:
    inputs = parity_inputs(2, ref['img_size'], seed=ref['input_seed'])
    with torch.no_grad():
        outs = model(inputs)
    assert len(outs) == len(ref['outs']) == 4
    for out, name in zip(outs, ('s0', 's1', 's2', 's3')):
        expected = ref['outs'][name]
        assert tuple(out.shape) == expected['shape']
        torch.testing.assert_close(
            out[:, :4, :3, :3], expected['corner'], rtol=1e-4, atol=1e-5
        )
        for key, value in (
            ('sum', out.double().sum()),
            ('abs_sum', out.double().abs().sum()),
            ('sq_sum', out.double().pow(2).sum()),
        ):
            torch.testing.assert_close(
                value,
                expected[key],
                rtol=1e-5,
                atol=1e-6 * expected['abs_sum'].item(),
            )


def test_tiny_convvit_matches_official_detector_backbone():
    """ConvViTDet's own names load as they are (no converter); the load
    hook resizes the 4 x 4 table to 8 x 8 as the official loader."""
    ref = torch.load(REFS / 'convmae_det_tiny.pth', weights_only=True)
    model = _build_tiny_det(ref)
    model.load_state_dict(_official_tiny_det_weights(ref), strict=True)
    _check_det(model, ref)


def test_tiny_detector_check_fails_on_swapped_blocks():
    """Negative control: a windowed and a global block exchanged (same
    shapes, so the strict load passes) must break the match."""
    ref = torch.load(REFS / 'convmae_det_tiny.pth', weights_only=True)
    model = _build_tiny_det(ref)
    official = _official_tiny_det_weights(ref)
    swap = {'blocks3.0.': 'blocks3.1.', 'blocks3.1.': 'blocks3.0.'}
    swapped = {}
    for key, value in official.items():
        prefix = key[: len('blocks3.0.')]
        if prefix in swap:
            key = swap[prefix] + key[len(prefix) :]
        swapped[key] = value
    model.load_state_dict(swapped, strict=True)
    with pytest.raises(AssertionError):
        _check_det(model, ref)


@pytest.mark.skipif(
    not os.environ.get('MMMIM_SLOW_TESTS'),
    reason='ConvMAE-B at 1024 px takes about a minute; MMMIM_SLOW_TESTS=1',
)
def test_convvit_matches_official_detector_backbone():
    ref = torch.load(REFS / 'convmae_det.pth', weights_only=True)
    model = ConvViT(
        arch='b',
        img_size=ref['img_size'],
        window_size=ref['window_size'],
        global_attn_indexes=ref['global_attn_indexes'],
    ).eval()
    shapes = _official_shapes(model, {'': ''})
    shapes['pos_embed'] = (1, 196, 768)  # the pre-training table
    official = synthesize_weights(shapes, ref['seed'])
    official['pos_embed'] = _finetune_pos_embed(ref['pos_embed_seed'])
    # The load hook resizes the 14 x 14 table to 64 x 64, as officially.
    model.load_state_dict(official, strict=True)
    inputs = parity_inputs(1, ref['img_size'], seed=ref['input_seed'])
    with torch.no_grad():
        outs = model(inputs)
    for out, name in zip(outs, ('s0', 's1', 's2', 's3')):
        expected = ref['outs'][name]
        assert tuple(out.shape) == expected['shape']
        torch.testing.assert_close(
            out[0, :8, :4, :4], expected['corner'], rtol=1e-4, atol=1e-4
        )
        torch.testing.assert_close(
            out.double().abs().sum(), expected['abs_sum'], rtol=1e-5, atol=0
        )
        torch.testing.assert_close(
            out.double().pow(2).sum(), expected['sq_sum'], rtol=1e-5, atol=0
        )
