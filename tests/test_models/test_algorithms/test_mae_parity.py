# Copyright (c) mmmim contributors. All rights reserved.
"""Converted official MAE weights reproduce the official models.

The references in ``tests/data/parity/mae_*.pth`` were produced by the
official code (facebookresearch/mae efb2a80) with
``tools/analysis_tools/make_mae_parity_refs.py``. Each stores the official
key names and shapes (``shapes``) the weights were synthesised from, so
that here the same weights are rebuilt under the official names, converted
by ``mmmim/utils/converters/mae.py`` and loaded strictly into mmmim:

* ``mae_{base,large,huge}.pth``: ``models_mae.py`` with the official
  random mask: ``MAE.reconstruct`` gives the official ``pred`` and
  ``loss``;
* ``mae_finetune.pth``: ``models_vit.py`` ViT-B/16 with ``global_pool``
  (``fc_norm``) and 10 classes: the classifier of
  ``configs/_base_/models/mae_vit-base-p16_finetune.py`` gives the official
  logits.

Negative controls break one rule of the converter's table and require the
strict load or the comparison to fail.
"""

import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from mmmim.models import MAE
from mmmim.testing import (
    official_pretrain_weights,
    parity_inputs,
    synthesize_weights,
)
from mmmim.utils.converters import convert_state_dict
from mmmim.utils.converters import mae as mae_converter

REPO = Path(__file__).resolve().parents[3]
REFS = REPO / 'tests' / 'data' / 'parity'
# arch name -> (backbone arch, patch size)
GEOMETRY = dict(base=('b', 16), large=('l', 16), huge=('h', 14))
#: Two rules that swap the MLP input weights of blocks 0 and 1: the strict
#: load still succeeds, only the outputs can tell.
SWAP_FC1 = (
    (r'blocks\.0\.mlp\.fc1\.', 'backbone.blocks.1.mlp.fc1.'),
    (r'blocks\.1\.mlp\.fc1\.', 'backbone.blocks.0.mlp.fc1.'),
)


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
    """Full path: official-format file -> converter CLI -> strict load."""
    ref = torch.load(REFS / 'mae_base.pth', weights_only=True)
    model = _build_mae('base', ref['norm_pix'], ref['img_size'])
    weights = official_pretrain_weights(model, ref)
    src, dst = tmp_path / 'official.pth', tmp_path / 'mmmim.pth'
    torch.save({'model': weights}, src)
    _load_converter().main([str(src), str(dst)])
    converted = torch.load(dst, weights_only=True)
    assert converted['meta']['kind'] == 'pretrain'
    assert converted['meta']['arch']['embed_dims'] == 768
    assert converted['meta']['arch']['decoder_num_layers'] == 8
    assert set(converted['state_dict']) == set(model.state_dict())
    load_checkpoint(model, str(dst), map_location='cpu', strict=True)
    _check_against_reference(model, ref)


@pytest.mark.parametrize('arch', ['large', 'huge'])
def test_converted_weights_match_official(arch):
    ref = torch.load(REFS / f'mae_{arch}.pth', weights_only=True)
    model = _build_mae(arch, ref['norm_pix'], ref['img_size'])
    official = official_pretrain_weights(model, ref)
    converted = convert_state_dict({'model': official}, 'mae')
    del official
    model.load_state_dict(converted, strict=True)
    _check_against_reference(model, ref)


@pytest.mark.parametrize(
    'broken, error',
    [
        (SWAP_FC1, AssertionError),  # loads, but the outputs differ
        # The encoder's final norm sent to the decoder: strict load fails.
        (((r'norm\.', 'neck.decoder_norm.'),), RuntimeError),
    ],
)
def test_broken_converter_rule_fails_the_pretrain_check(
    monkeypatch, broken, error
):
    ref = torch.load(REFS / 'mae_base.pth', weights_only=True)
    model = _build_mae('base', ref['norm_pix'], ref['img_size'])
    official = official_pretrain_weights(model, ref)
    monkeypatch.setattr(
        mae_converter, 'RULES', (*broken, *mae_converter.RULES)
    )
    with pytest.raises(error):
        model.load_state_dict(convert_state_dict(official, 'mae'), strict=True)
        _check_against_reference(model, ref)


# --------------------------------------------------------- fine-tuning
def _build_classifier(num_classes: int):
    from mmpretrain.registry import MODELS

    cfg = Config.fromfile(
        str(REPO / 'configs/_base_/models/mae_vit-base-p16_finetune.py')
    ).model
    cfg.backbone.init_cfg = None
    cfg.head.num_classes = num_classes
    cfg.data_preprocessor.num_classes = num_classes
    return MODELS.build(cfg).eval()


def _official_finetune_weights(ref: dict) -> dict:
    """The generator's weights: synthesised, plus its seeded pos table."""
    official = synthesize_weights(ref['shapes'], ref['seed'])
    gen = torch.Generator().manual_seed(ref['pos_embed_seed'])
    official['pos_embed'] = 0.1 * torch.randn(
        ref['shapes']['pos_embed'], generator=gen
    )
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
    ref = torch.load(REFS / 'mae_finetune.pth', weights_only=True)
    assert ref['global_pool']
    model = _build_classifier(ref['num_classes'])
    converted, meta = mae_converter.convert(
        _official_finetune_weights(ref), 'finetune'
    )
    assert meta['kind'] == 'finetune'
    assert meta['arch']['num_classes'] == ref['num_classes']
    assert meta['arch']['global_pool'] is True
    assert {k.split('.')[0] for k in converted} == {'backbone', 'head'}
    model.load_state_dict(converted, strict=True)
    _check_logits(model, ref)


@pytest.mark.parametrize(
    'broken, error',
    [
        (SWAP_FC1, AssertionError),
        # fc_norm as the final norm: MAEViT(final_norm=False) has none.
        (((r'fc_norm\.', 'backbone.norm.'),), RuntimeError),
    ],
)
def test_broken_converter_rule_fails_the_finetune_check(
    monkeypatch, broken, error
):
    ref = torch.load(REFS / 'mae_finetune.pth', weights_only=True)
    model = _build_classifier(ref['num_classes'])
    official = _official_finetune_weights(ref)
    monkeypatch.setattr(
        mae_converter,
        'FINETUNE_RULES',
        (*broken, *mae_converter.FINETUNE_RULES),
    )
    with pytest.raises(error):
        model.load_state_dict(convert_state_dict(official, 'mae'), strict=True)
        _check_logits(model, ref)


def _tiny_classifier_keys(global_pool: bool) -> dict:
    shapes = {
        'cls_token': (1, 1, 8),
        'pos_embed': (1, 5, 8),
        'patch_embed.proj.weight': (8, 3, 4, 4),
        'patch_embed.proj.bias': (8,),
        'blocks.0.attn.qkv.weight': (24, 8),
        'blocks.0.mlp.fc1.weight': (32, 8),
        'head.weight': (3, 8),
        'head.bias': (3,),
    }
    norm = 'fc_norm' if global_pool else 'norm'
    shapes.update({f'{norm}.weight': (8,), f'{norm}.bias': (8,)})
    return {k: torch.zeros(v) for k, v in shapes.items()}


@pytest.mark.parametrize('global_pool', [True, False])
def test_converter_maps_classifier_keys(global_pool):
    converted, meta = mae_converter.convert(_tiny_classifier_keys(global_pool))
    norm = 'fc_norm' if global_pool else 'norm'
    assert set(converted) == {
        'backbone.cls_token',
        'backbone.pos_embed',
        'backbone.patch_embed.proj.weight',
        'backbone.patch_embed.proj.bias',
        'backbone.blocks.0.attn.qkv.weight',
        'backbone.blocks.0.mlp.fc1.weight',
        f'backbone.{norm}.weight',
        f'backbone.{norm}.bias',
        'head.fc.weight',
        'head.fc.bias',
    }
    assert meta['kind'] == 'finetune'
    assert meta['arch']['num_classes'] == 3
    assert meta['arch']['global_pool'] is global_pool
    assert 'fine-tuned classifier' in mae_converter.summary(converted, meta)


@pytest.mark.parametrize(
    'change, message',
    [
        # Both norms: not a models_vit.py classifier.
        (dict(add={'norm.weight': (8,)}), 'fine-tuned classification'),
        # main_linprobe.py: BatchNorm + Linear head.
        (
            dict(
                drop=('head.weight', 'head.bias'),
                add={'head.1.weight': (3, 8), 'head.0.running_mean': (8,)},
            ),
            'linear-probing',
        ),
        # A stray key of a classifier is named, not dropped.
        (dict(add={'head.extra': (1,)}), 'head.extra'),
    ],
)
def test_converter_refuses_other_classifiers(change, message):
    state = _tiny_classifier_keys(True)
    for key in change.get('drop', ()):
        del state[key]
    state.update({k: torch.zeros(v) for k, v in change['add'].items()})
    with pytest.raises((ValueError, KeyError), match=message):
        mae_converter.convert(state, 'ckpt.pth')
