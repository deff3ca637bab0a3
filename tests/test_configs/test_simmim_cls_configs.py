# Copyright (c) mmmim contributors. All rights reserved.
"""SimMIM fine-tuning configs: recipes, pre-trained weights, layer decay."""

import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import mmmim.models  # noqa: F401
from mmmim.registry import MODELS

pytestmark = pytest.mark.requires('mmcv')  # mmpretrain needs it

CLS_DIR = Path(__file__).resolve().parents[2] / 'configs/simmim/benchmarks/cls'
# name: (backbone, layer decay, image size, window)
FINETUNE = {
    'vit-base-p16_16xb128-coslr-100e_in1k.py': ('SimMIMViT', 0.65, 224, None),
    'swin-base-w7_16xb128-coslr-100e_in1k.py': ('SimMIMSwin', 0.8, 224, 7),
    'swin-base-w7_16xb128-ld0.9-coslr-100e_in1k.py': (
        'SimMIMSwin',
        0.9,
        224,
        7,
    ),
    'swin-base-w6_16xb128-ld0.9-coslr-100e_in1k-192px.py': (
        'SimMIMSwin',
        0.9,
        192,
        6,
    ),
}
TINY_VIT = dict(
    embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64
)
TINY_SWIN = dict(embed_dims=16, depths=[1, 1, 2, 1], num_heads=[2] * 4)


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def load(name: str) -> Config:
    return Config.fromfile(str(CLS_DIR / name))


# The linear probe (paper: 56.7); its values are in test_recipes.py.
LINEAR = {'vit-base-p16_8xb2048-linear-layer8-avgpool-coslr-90e_in1k.py'}


def test_every_config_is_covered():
    assert {p.name for p in CLS_DIR.glob('*.py')} == set(FINETUNE) | LINEAR


@pytest.mark.parametrize('name', sorted(FINETUNE))
def test_finetune_recipe(name):
    cfg = load(name)
    backbone, decay, img, window = FINETUNE[name]
    assert cfg.model.backbone.type == f'mmmim.{backbone}'
    assert cfg.model.backbone.drop_path_rate == 0.1
    assert cfg.model.backbone.use_mask_token is False
    assert cfg.model.backbone.img_size == img
    if window is not None:
        assert cfg.model.backbone.window_size == window
    else:
        assert cfg.model.backbone.rel_pos_bias == 'per_layer'
        assert cfg.model.backbone.out_type == 'avg_featmap'
        assert cfg.model.backbone.final_norm is False
    optim = cfg.optim_wrapper
    assert optim.optimizer.lr == pytest.approx(1.25e-3 * 2048 / 512)
    assert optim.optimizer.weight_decay == 0.05
    assert optim.clip_grad.max_norm == 5.0
    assert optim.paramwise_cfg.layer_decay_rate == decay
    assert optim.constructor == (
        'mmpretrain.LearningRateDecayOptimWrapperConstructor'
    )
    assert cfg.train_dataloader.batch_size * 16 == 2048
    warmup, cosine = cfg.param_scheduler
    assert (warmup.end, cosine.end) == (20, 100)
    assert warmup.start_factor == pytest.approx(2.5e-7 / 1.25e-3)
    assert cosine.eta_min == pytest.approx(2.5e-7 * 4)
    crop = cfg.train_dataloader.dataset.pipeline[1]
    assert crop.scale == img
    assert cfg.val_dataloader.dataset.pipeline[2].crop_size == img
    label_smooth = cfg.model.head.loss.label_smooth_val
    assert label_smooth == 0.1
    assert [a.type for a in cfg.model.train_cfg.augments] == [
        'mmpretrain.Mixup',
        'mmpretrain.CutMix',
    ]


def _pretrained_checkpoint(model_cfg: dict, path: Path) -> dict:
    """Save a tiny SimMIM pre-training model's weights like a run does."""
    with DefaultScope.overwrite_default_scope('mmmim'):
        model = MODELS.build(model_cfg)
    model.init_weights()
    state = model.state_dict()
    torch.save({'state_dict': state, 'meta': {}}, path)
    return state


def test_vit_finetune_from_a_pretraining_checkpoint(tmp_path):
    pretrain = dict(
        type='mmmim.SimMIM',
        backbone=dict(
            type='SimMIMViT', arch=TINY_VIT, img_size=32, patch_size=8
        ),
        neck=dict(
            type='SimMIMLinearDecoder', in_channels=32, encoder_stride=8
        ),
        head=dict(type='SimMIMReconstructionHead', patch_size=8),
        data_preprocessor=dict(type='BaseDataPreprocessor'),
    )
    path = tmp_path / 'pretrain.pth'
    state = _pretrained_checkpoint(pretrain, path)
    shared = state['backbone.rel_pos_bias.relative_position_bias_table']
    with torch.no_grad():
        shared.normal_()  # distinguishable from a zero init
    torch.save({'state_dict': state, 'meta': {}}, path)

    cfg = load('vit-base-p16_16xb128-coslr-100e_in1k.py')
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.update(arch=TINY_VIT, img_size=48, patch_size=8)
    model_cfg.backbone.init_cfg.checkpoint = str(path)
    model_cfg.head.update(num_classes=10, in_channels=32)
    model_cfg.data_preprocessor.num_classes = 10
    model = MODELS.build(model_cfg)
    model.init_weights()
    # The shared 4x4-grid table went into both blocks, resized to 6x6.
    for block in model.backbone.blocks:
        table = block.attn.relative_position_bias_table
        assert table.shape == (11 * 11 + 3, 4)
        torch.testing.assert_close(table[-3:], shared[-3:])
        center = table[5 * 11 + 5]
        torch.testing.assert_close(center, shared[3 * 7 + 3])
    torch.testing.assert_close(
        model.backbone.blocks[1].gamma_1, state['backbone.blocks.1.gamma_1']
    )
    out = model(torch.randn(2, 3, 48, 48), mode='tensor')
    assert out.shape == (2, 10)

    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    wrapper = build_optim_wrapper(model, optim_cfg)
    groups = {g['param_name']: g for g in wrapper.optimizer.param_groups}
    lr = optim_cfg.optimizer.lr
    # 2 blocks: depths 0 (embeddings) .. 3 (head); scale 0.65 ** (3 - id).
    assert groups['backbone.cls_token']['lr'] == pytest.approx(lr * 0.65**3)
    assert groups['backbone.cls_token']['weight_decay'] == 0.0
    block = groups['backbone.blocks.1.attn.relative_position_bias_table']
    assert block['lr'] == pytest.approx(lr * 0.65)
    assert block['weight_decay'] == 0.05  # decayed, as officially
    assert groups['backbone.blocks.0.gamma_1']['weight_decay'] == 0.0
    assert groups['head.fc.weight']['lr'] == pytest.approx(lr)


def test_swin_finetune_resizes_the_window(tmp_path):
    pretrain = dict(
        type='mmmim.SimMIM',
        backbone=dict(
            type='SimMIMSwin', arch=TINY_SWIN, img_size=96, window_size=3
        ),
        neck=dict(
            type='SimMIMLinearDecoder', in_channels=128, encoder_stride=32
        ),
        head=dict(type='SimMIMReconstructionHead', patch_size=4),
        data_preprocessor=dict(type='BaseDataPreprocessor'),
    )
    path = tmp_path / 'pretrain.pth'
    state = _pretrained_checkpoint(pretrain, path)
    cfg = load('swin-base-w7_16xb128-coslr-100e_in1k.py')
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.update(arch=TINY_SWIN, img_size=128, window_size=4)
    model_cfg.backbone.init_cfg.checkpoint = str(path)
    model_cfg.head.update(num_classes=10, in_channels=128)
    model_cfg.data_preprocessor.num_classes = 10
    model = MODELS.build(model_cfg)
    model.init_weights()
    key = 'stages.2.blocks.1.attn.w_msa.relative_position_bias_table'
    assert state['backbone.' + key].shape == (25, 2)
    table = model.backbone.state_dict()[key]
    assert table.shape == (49, 2)
    # The centre offset keeps its pre-trained value.
    torch.testing.assert_close(table[3 * 7 + 3], state['backbone.' + key][12])
    assert model(torch.randn(1, 3, 128, 128), mode='tensor').shape == (1, 10)

    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    groups = {g['param_name']: g for g in wrapper.optimizer.param_groups}
    lr = cfg.optim_wrapper.optimizer.lr
    # 5 blocks: depths 0 .. 6; stage 2 block 1 is depth 1 + 1 + 1 + 1 = 4.
    assert groups['backbone.' + key]['lr'] == pytest.approx(lr * 0.8**2)
    assert groups['backbone.' + key]['weight_decay'] == 0.0
    patch = groups['backbone.patch_embed.projection.weight']
    assert patch['lr'] == pytest.approx(lr * 0.8**6)
