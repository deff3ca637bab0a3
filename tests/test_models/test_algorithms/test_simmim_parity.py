# Copyright (c) mmmim contributors. All rights reserved.
"""Converted official SimMIM weights reproduce the official model.

The references in ``tests/data/parity/simmim_{vit,swin}.pth`` were produced
by the official SimMIM (microsoft/SimMIM d3e29bc, built from its ViT-B/16
@224 and Swin-B window-6 @192 pre-training YAMLs) with
``tools/analysis_tools/make_simmim_parity_refs.py``: weights synthesised
from the official parameter names and shapes, a fixed input and masks of
the official ``MaskGenerator``. Here the same weights go through
``tools/model_converters/simmim_to_mmmim.py`` into mmmim's SimMIM, which
must give the official reconstruction and loss. ``simmim_rpb.pth`` holds
what the official fine-tuning loaders make of small pre-training tables
(SciPy 1.13 ``interp2d``). ``simmim_{vit,swin}_finetune.pth`` hold the
logits of the official fine-tuning classifiers (``build_model(config,
is_pretrain=False)`` from the ViT-B/16 and Swin-B window-7 fine-tuning
YAMLs, 10 classes) and their parameter names and shapes; the same weights,
converted, give the same logits in the ``configs/_base_/models/
simmim_*_finetune.py`` classifiers. Negative controls break one rule of
the converter's tables and require the strict load or the comparison to
fail.
"""

import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from mmmim.models import SimMIM, SimMIMSwin, SimMIMViT
from mmmim.testing import parity_inputs, synthesize_weights
from mmmim.utils.converters import convert_state_dict
from mmmim.utils.converters import simmim as simmim_converter

REPO = Path(__file__).resolve().parents[3]
REFS = REPO / 'tests' / 'data' / 'parity'

VIT_B = dict(
    backbone=dict(type='SimMIMViT', arch='b', img_size=224, patch_size=16),
    neck=dict(type='SimMIMLinearDecoder', in_channels=768, encoder_stride=16),
    head=dict(type='SimMIMReconstructionHead', patch_size=16),
)
SWIN_B = dict(
    backbone=dict(type='SimMIMSwin', arch='b', img_size=192, window_size=6),
    neck=dict(type='SimMIMLinearDecoder', in_channels=1024, encoder_stride=32),
    head=dict(type='SimMIMReconstructionHead', patch_size=4),
)
MODELS = dict(vit=VIT_B, swin=SWIN_B)


def _load_converter():
    path = REPO / 'tools' / 'model_converters' / 'simmim_to_mmmim.py'
    spec = importlib.util.spec_from_file_location('simmim_to_mmmim', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference(name: str) -> dict:
    return torch.load(REFS / f'simmim_{name}.pth', weights_only=True)


def _official_weights(ref: dict) -> dict:
    return synthesize_weights(ref['official_shapes'], ref['seed'])


def _check_against_reference(model: SimMIM, ref: dict) -> None:
    inputs = parity_inputs(
        ref['mask'].shape[0], ref['img_size'], seed=ref['seed'] + 1
    )
    with torch.no_grad():
        out = model.reconstruct(inputs, ref['mask'])
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


def test_reference_masks_have_the_official_counts():
    vit, swin = _reference('vit'), _reference('swin')
    assert vit['mask'].shape == (2, 196)
    assert torch.all(vit['mask'].sum(1) == 30 * 4)  # 30 of 49 cells
    assert swin['mask'].shape == (2, 48 * 48)
    assert torch.all(swin['mask'].sum(1) == 22 * 64)  # 22 of 36 cells


def test_converted_vit_checkpoint_file_matches_official(tmp_path):
    """Full path: official-format file -> converter CLI -> init from file."""
    ref = _reference('vit')
    model = SimMIM(**VIT_B).eval()
    src, dst = tmp_path / 'official.pth', tmp_path / 'mmmim.pth'
    torch.save({'model': _official_weights(ref), 'epoch': 799}, src)
    _load_converter().main([str(src), str(dst)])
    converted = torch.load(dst, weights_only=True)
    meta = converted['meta']
    assert (meta['kind'], meta['stage']) == ('vit', 'pretrain')
    assert meta['arch']['num_layers'] == 12
    assert meta['arch']['grid_size'] == 14
    assert set(converted['state_dict']) == set(model.state_dict())
    load_checkpoint(model, str(dst), map_location='cpu', strict=True)
    _check_against_reference(model, ref)
    # Perturbing one bias breaks the match, so the check has teeth.
    table = model.backbone.rel_pos_bias.relative_position_bias_table
    with torch.no_grad():
        table[13 * 27 + 13, 0] += 0.05  # offset (0, 0), one head
    with pytest.raises(AssertionError):
        _check_against_reference(model, ref)


def test_converted_swin_weights_match_official():
    ref = _reference('swin')
    model = SimMIM(**SWIN_B).eval()
    converted, meta = _load_converter().convert(_official_weights(ref))
    assert (meta['kind'], meta['stage']) == ('swin', 'pretrain')
    assert meta['arch']['depths'] == [2, 2, 18, 2]
    assert meta['arch']['window_size'] == 6
    result = model.load_state_dict(converted, strict=False)
    # The synthesised file has parameters only; the index buffers are
    # rebuilt by the model.
    assert all(k.endswith('relative_position_index') for k in result[0])
    assert not result.unexpected_keys
    _check_against_reference(model, ref)


def test_shared_table_becomes_official_per_layer_tables():
    """Loading a pre-training table into a fine-tuning ViT of a larger
    grid copies it into every block and resizes it as the official
    ``remap_pretrained_keys_vit`` (SciPy interp2d) does."""
    ref = torch.load(REFS / 'simmim_rpb.pth', weights_only=True)
    model = SimMIMViT(
        arch=dict(
            embed_dims=8, num_layers=2, num_heads=2, feedforward_channels=32
        ),
        img_size=64,
        patch_size=16,
        rel_pos_bias='per_layer',
        use_mask_token=False,
    )
    shared = {'rel_pos_bias.relative_position_bias_table': ref['vit_src']}
    result = model.load_state_dict(shared, strict=False)
    assert not result.unexpected_keys
    for i in range(2):
        key = f'blocks.{i}.attn.relative_position_bias_table'
        assert key not in result.missing_keys
        torch.testing.assert_close(
            model.state_dict()[key], ref['vit_out'][key], rtol=1e-5, atol=1e-6
        )


def test_swin_window_resize_matches_official():
    ref = torch.load(REFS / 'simmim_rpb.pth', weights_only=True)
    model = SimMIMSwin(
        arch=dict(embed_dims=8, depths=[1, 1, 1, 1], num_heads=[2] * 4),
        img_size=224,
        window_size=7,
        use_mask_token=False,
    )
    key = 'stages.0.blocks.0.attn.w_msa.relative_position_bias_table'
    index = key.replace('bias_table', 'index')
    old_index = torch.zeros(36, 36, dtype=torch.long)  # a window-6 index
    result = model.load_state_dict(
        {key: ref['swin_src'], index: old_index}, strict=False
    )
    assert not result.unexpected_keys
    torch.testing.assert_close(
        model.state_dict()[key], ref['swin_out'], rtol=1e-5, atol=1e-6
    )
    # The window-7 index is kept, not replaced by the checkpoint's.
    assert model.state_dict()[index].shape == (49, 49)


# ------------------------------------------------- negative controls
#: Swap the MLP input weights of ViT blocks 0 and 1 (same shapes): the
#: strict load succeeds, only the outputs can tell.
VIT_SWAP_FC1 = (
    (r'blocks\.0\.mlp\.fc1\.', r'backbone.blocks.1.mlp.fc1.'),
    (r'blocks\.1\.mlp\.fc1\.', r'backbone.blocks.0.mlp.fc1.'),
)
#: The same for Swin stage-2 blocks 0 and 1.
SWIN_SWAP_FC1 = (
    (
        r'layers\.2\.blocks\.0\.mlp\.fc1\.',
        'backbone.stages.2.blocks.1.ffn.layers.0.0.',
    ),
    (
        r'layers\.2\.blocks\.1\.mlp\.fc1\.',
        'backbone.stages.2.blocks.0.ffn.layers.0.0.',
    ),
)


@pytest.mark.parametrize(
    'broken, error',
    [
        (VIT_SWAP_FC1, AssertionError),  # loads, but the outputs differ
        # The final norm sent to a block: strict load fails.
        (((r'norm\.', 'backbone.blocks.0.norm3.'),), RuntimeError),
    ],
)
def test_broken_converter_rule_fails_the_vit_pretrain_check(
    monkeypatch, broken, error
):
    ref = _reference('vit')
    model = SimMIM(**VIT_B).eval()
    monkeypatch.setattr(
        simmim_converter, 'VIT_RULES', (*broken, *simmim_converter.VIT_RULES)
    )
    with pytest.raises(error):
        model.load_state_dict(
            convert_state_dict(_official_weights(ref), 'simmim'), strict=True
        )
        _check_against_reference(model, ref)


# --------------------------------------------------------- fine-tuning
def _build_classifier(name: str, num_classes: int):
    """The classifier of ``configs/_base_/models/simmim_*_finetune.py``."""
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

    config = dict(
        vit='simmim_vit-base-p16_finetune.py',
        swin='simmim_swin-base-w7_finetune.py',
    )[name]
    cfg = Config.fromfile(str(REPO / 'configs/_base_/models' / config)).model
    cfg.backbone.init_cfg = None
    cfg.head.num_classes = num_classes
    cfg.data_preprocessor.num_classes = num_classes
    return MMPRETRAIN_MODELS.build(cfg).eval()


def _load_finetune(model, name: str, ref: dict) -> None:
    """Convert the official-named weights and load them strictly: every
    learnable tensor must come from the checkpoint; only Swin's index
    buffers (rebuilt from the window) are the model's own."""
    converted, meta = simmim_converter.convert(
        synthesize_weights(ref['official_shapes'], ref['seed'])
    )
    assert (meta['kind'], meta['stage']) == (name, 'finetune')
    own = {
        k: v
        for k, v in model.state_dict().items()
        if k.endswith('relative_position_index')
    }
    assert not set(own) & set(converted)
    model.load_state_dict({**converted, **own}, strict=True)


def _check_logits(model, ref: dict) -> None:
    inputs = parity_inputs(2, ref['img_size'], seed=ref['input_seed'])
    with torch.no_grad():
        logits = model(inputs, mode='tensor')
    torch.testing.assert_close(
        logits.double(), ref['logits'], rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize('name', ['vit', 'swin'])
def test_converted_finetune_weights_match_official_logits(name):
    ref = torch.load(REFS / f'simmim_{name}_finetune.pth', weights_only=True)
    model = _build_classifier(name, ref['num_classes'])
    _load_finetune(model, name, ref)
    _check_logits(model, ref)


@pytest.mark.parametrize(
    'name, table, broken, error',
    [
        ('vit', 'VIT_RULES', VIT_SWAP_FC1, AssertionError),
        ('swin', 'SWIN_RULES', SWIN_SWAP_FC1, AssertionError),
        # The classifier's fc_norm (mean pooling) sent to the final norm,
        # which the backbone (final_norm=False) does not have.
        (
            'vit',
            'VIT_RULES',
            ((r'fc_norm\.', 'backbone.norm.'),),
            RuntimeError,
        ),
    ],
)
def test_broken_converter_rule_fails_the_finetune_check(
    monkeypatch, name, table, broken, error
):
    ref = torch.load(REFS / f'simmim_{name}_finetune.pth', weights_only=True)
    model = _build_classifier(name, ref['num_classes'])
    rules = getattr(simmim_converter, table)
    monkeypatch.setattr(simmim_converter, table, (*broken, *rules))
    with pytest.raises(error):
        _load_finetune(model, name, ref)
        _check_logits(model, ref)
