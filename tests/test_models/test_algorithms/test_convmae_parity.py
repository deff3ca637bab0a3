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
* with ``MMMIM_SLOW_TESTS=1``, ``ConvViT`` at 1024 x 1024 gives the
  official detector backbone's E1-E4 (``DET/models/convmae.py``; about a
  minute on one core).
"""

import importlib.util
import os
from pathlib import Path

import pytest
import torch

from mmmim.models import ConvMAE, ConvViT
from mmmim.models.utils import build_2d_sincos_pos_embed
from mmmim.testing import parity_inputs, synthesize_weights

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


PRETRAIN_PREFIXES = {'backbone.': '', 'neck.': ''}


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
    shapes = _official_shapes(model, PRETRAIN_PREFIXES)
    # The CLI (file with 'args', safe loading) is covered on small files
    # in tests/test_tools/test_convmae_converter.py.
    official = synthesize_weights(shapes, ref['seed'])
    converted, meta = _load_converter().convert(official, 'official')
    del official
    assert meta['kind'] == 'pretrain'
    assert meta['arch']['embed_dims'] == [256, 384, 768]
    assert meta['arch']['num_layers'] == [2, 2, 11]
    assert meta['arch']['patch_sizes'] == [4, 2, 2]
    assert meta['arch']['decoder_num_layers'] == 8
    result = model.load_state_dict(converted, strict=False)
    # The fixed sin-cos tables are built by the model, not synthesised.
    assert set(result.missing_keys) == {
        'backbone.pos_embed',
        'neck.decoder_pos_embed',
    }
    assert not result.unexpected_keys
    _check_pretrain(model, ref)
    # The check has teeth: a small change of one stage-1 weight (reachable
    # only through the masked convolutions) breaks the match.
    with torch.no_grad():
        model.backbone.blocks1[0].attn.weight[0, 0, 2, 2] += 0.05
    with pytest.raises(AssertionError):
        _check_pretrain(model, ref)


def test_converted_finetune_weights_match_official_logits():
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

    ref = torch.load(REFS / 'convmae_finetune.pth', weights_only=True)
    model = MMPRETRAIN_MODELS.build(
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
                num_classes=ref['num_classes'],
                in_channels=768,
            ),
        )
    ).eval()
    shapes = _official_shapes(model, {'backbone.': '', 'head.fc.': 'head.'})
    official = synthesize_weights(shapes, ref['seed'])
    official['pos_embed'] = _finetune_pos_embed(ref['pos_embed_seed'])
    converted, meta = _load_converter().convert(official, 'finetune')
    del official
    assert meta['kind'] == 'finetune'
    assert meta['arch']['num_classes'] == ref['num_classes']
    model.load_state_dict(converted, strict=True)
    inputs = parity_inputs(2, ref['img_size'], seed=ref['input_seed'])
    with torch.no_grad():
        logits = model(inputs, mode='tensor')
    torch.testing.assert_close(
        logits.double(), ref['logits'], rtol=1e-5, atol=1e-5
    )


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
