# Copyright (c) mmmim contributors. All rights reserved.
"""Converted official checkpoints load completely into the transfer configs.

mmengine loads ``Pretrained`` weights non-strictly, so a renamed key would
go silently missing. Here an official-layout checkpoint (the official key
names, synthesised weights, pre-training encoder + decoder) goes through
the converter CLI and into the released configs' backbones through their
``init_cfg``; the load report must then list exactly the expected new and
unused keys, and every loaded tensor must arrive. The models keep the
ViT-B / ConvMAE-B depth (all block names) at a narrow width, so that the
checkpoints stay small.
"""

import copy
import importlib.util
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from mmmim.models.utils import build_2d_sincos_pos_embed, resize_pos_embed
from mmmim.testing import synthesize_weights
from mmmim.utils import register_all_modules

from .tiny_dense import CONVVIT_DET, VIT_DET, VIT_SEG

#: ConvMAE-B and ViT-B depths, narrow.
CONVVIT_ARCH = dict(
    embed_dims=(16, 24, 32), num_layers=(2, 2, 11), num_heads=4
)
VIT_ARCH = dict(
    embed_dims=32, num_layers=12, num_heads=4, feedforward_channels=64
)
DECODER = dict(
    embed_dims=32,
    decoder_embed_dims=16,
    decoder_num_layers=2,
    decoder_num_heads=2,
)

register_all_modules(init_default_scope=False)
REPO = Path(__file__).resolve().parents[2]


def _converter(name: str):
    path = REPO / 'tools' / 'model_converters' / f'{name}_to_mmmim.py'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _official_checkpoint(model_cfg: dict, path: Path, grid: int) -> dict:
    """Write ``{'model': ...}`` with the official keys of a pre-training
    model (mmmim's names without ``backbone.`` / ``neck.``) and return the
    flat weights. The fixed sin-cos tables are stored, as officially."""
    with DefaultScope.overwrite_default_scope('mmmim'):
        model = MODELS.build(model_cfg)
    shapes = {
        key.split('.', 1)[1]: tuple(value.shape)
        for key, value in model.state_dict().items()
        if key.startswith(('backbone.', 'neck.'))
    }
    del model
    weights = synthesize_weights(shapes, seed=3)
    dims = shapes['pos_embed'][-1]
    cls = shapes['pos_embed'][1] == grid * grid + 1
    weights['pos_embed'] = build_2d_sincos_pos_embed(grid, dims, cls)
    torch.save({'model': weights}, path)
    return weights


def _load_into(config: Path, checkpoint: Path, arch: dict) -> torch.nn.Module:
    """The config's backbone (narrowed to ``arch``) after ``init_weights``."""
    cfg = Config.fromfile(str(config))
    backbone_cfg = copy.deepcopy(cfg.model.backbone)
    backbone_cfg.arch = arch
    backbone_cfg.init_cfg.checkpoint = str(checkpoint)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        backbone = MODELS.build(backbone_cfg)
        backbone.init_weights()
    return backbone


def _check_values(backbone, official: dict, report: dict, grid) -> None:
    state = backbone.state_dict()
    for key in report['loaded']:
        if key == 'pos_embed':
            cls = 1 if official[key].shape[1] % 2 else 0
            expected = resize_pos_embed(
                official[key], 14, grid, num_extra_tokens=cls
            )
        else:
            expected = official[key]
        torch.testing.assert_close(state[key], expected, msg=key)


def test_official_convmae_checkpoint_loads_into_the_detector(tmp_path):
    src, dst = tmp_path / 'convmae_base.pth', tmp_path / 'converted.pth'
    official = _official_checkpoint(
        dict(
            type='ConvMAE',
            backbone=dict(type='ConvMAEViT', arch=CONVVIT_ARCH),
            neck=dict(type='ConvMAEDecoder', **DECODER),
            head=dict(type='PixelReconstructionHead', patch_size=16),
            data_preprocessor=dict(type='BaseDataPreprocessor'),
        ),
        src,
        grid=14,
    )
    _converter('convmae').main([str(src), str(dst)])
    backbone = _load_into(CONVVIT_DET, dst, CONVVIT_ARCH)
    report = backbone.load_report
    # The official detector also starts its bias tables from zero.
    assert report['missing'] == [
        'global_rel_pos_bias.relative_position_bias_table',
        'windowed_rel_pos_bias.relative_position_bias_table',
    ]
    # Pre-training-only parts, unused by the detector backbone.
    assert report['unexpected'] == [
        'norm.bias',
        'norm.weight',
        'stage1_output_decode.bias',
        'stage1_output_decode.weight',
        'stage2_output_decode.bias',
        'stage2_output_decode.weight',
    ]
    assert report['ignored'] and all(
        k.startswith('neck.') for k in report['ignored']
    )
    params = set(backbone.state_dict())
    assert set(report['loaded']) == params - set(report['missing'])
    _check_values(backbone, official, report, (64, 64))


def test_official_mae_checkpoint_loads_into_vitdet_and_upernet(tmp_path):
    src, dst = tmp_path / 'mae_pretrain.pth', tmp_path / 'converted.pth'
    official = _official_checkpoint(
        dict(
            type='MAE',
            backbone=dict(type='MAEViT', arch=VIT_ARCH),
            neck=dict(type='MAEDecoder', **DECODER),
            head=dict(type='PixelReconstructionHead', patch_size=16),
            data_preprocessor=dict(type='BaseDataPreprocessor'),
        ),
        src,
        grid=14,
    )
    _converter('mae').main([str(src), str(dst)])
    # Detection mode: no cls token, no final norm, new bias tables.
    backbone = _load_into(VIT_DET, dst, VIT_ARCH)
    report = backbone.load_report
    assert report['missing'] == [
        'rel_pos_bias.global_grid.relative_position_bias_table',
        'rel_pos_bias.windowed.relative_position_bias_table',
    ]
    assert report['unexpected'] == ['cls_token', 'norm.bias', 'norm.weight']
    params = set(backbone.state_dict())
    assert set(report['loaded']) == params - set(report['missing'])
    _check_values(backbone, official, report, (64, 64))
    del backbone
    # Segmentation: the plain ViT keeps everything but the final norm.
    backbone = _load_into(VIT_SEG, dst, VIT_ARCH)
    report = backbone.load_report
    assert report['missing'] == []
    assert report['unexpected'] == ['norm.bias', 'norm.weight']
    assert set(report['loaded']) == set(backbone.state_dict())
    _check_values(backbone, official, report, (32, 32))
