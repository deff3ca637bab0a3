# Copyright (c) mmmim contributors. All rights reserved.
"""Every MAE config loads, keeps the official recipe and builds its model."""

import copy
from pathlib import Path
from typing import Dict, Optional

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import mmmim.models  # noqa: F401
from mmmim.registry import MODELS

# The configs name mmpretrain components, and mmpretrain needs mmcv.
needs_mmcv = pytest.mark.requires('mmcv')

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'mae'
ABLATION_DIR = CONFIG_DIR / 'ablations'
ALL_CONFIGS = sorted(p for p in CONFIG_DIR.rglob('*.py'))
PRETRAIN = {
    f'mae_vit-{arch}_8xb512-amp-coslr-{epochs}e_in1k.py': epochs
    for arch in ('base-p16', 'large-p16')
    for epochs in (400, 800, 1600)
}
PRETRAIN['mae_vit-huge-p14_8xb512-amp-coslr-1600e_in1k.py'] = 1600
DEMO = 'mae_vit-tiny-p8_1xb32-coslr-demo.py'
L800 = 'mae_vit-large-p16_8xb512-amp-coslr-800e_in1k.py'
ABLATION_BASE = '_base_/mae_ablation_vit-large-p16_800e.py'
TINY_ARCH = dict(
    embed_dims=32, num_layers=1, num_heads=4, feedforward_channels=64
)
TINY_DALLE = dict(
    type='mmpretrain.DALL-E', n_hid=8, n_blk_per_group=1, vocab_size=16
)


def load(name: str) -> Config:
    path = CONFIG_DIR / name
    if not path.exists():
        path = ABLATION_DIR / name
    return Config.fromfile(str(path))


def flatten(obj, prefix: str = '') -> Dict[str, object]:
    """A nested config as ``{'a.b.0.c': leaf}``."""
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)) and any(
        isinstance(v, (dict, list, tuple)) for v in obj
    ):
        items = enumerate(obj)
    else:
        return {prefix: obj}
    flat = {}
    for key, value in items:
        flat.update(flatten(value, f'{prefix}.{key}' if prefix else str(key)))
    return flat


def diff_keys(child: Config, parent: Config) -> Dict[str, tuple]:
    """Dotted keys whose values differ: ``{key: (parent, child)}``."""
    a, b = flatten(parent.to_dict()), flatten(child.to_dict())
    missing = object()
    return {
        key: (a.get(key, missing), b.get(key, missing))
        for key in set(a) | set(b)
        if a.get(key, missing) != b.get(key, missing)
    }


@pytest.fixture(autouse=True)
def _mmmim_scope():
    # Unprefixed types resolve in mmmim whatever another test left current.
    with DefaultScope.overwrite_default_scope('mmmim'):
        yield


def test_every_config_is_covered():
    names = {p.name for p in ALL_CONFIGS}
    assert set(PRETRAIN) | {DEMO} <= names


@pytest.mark.parametrize('name', sorted(PRETRAIN))
def test_pretrain_recipe(name):
    cfg = load(name)
    epochs = PRETRAIN[name]
    assert cfg.default_scope == 'mmmim'
    # Optimiser: AdamW, lr = 1.5e-4 * 4096 / 256, betas (0.9, 0.95), bf16.
    optim = cfg.optim_wrapper
    assert optim.type == 'AutocastOptimWrapper' and optim.dtype == 'bfloat16'
    assert optim.optimizer.type == 'AdamW'
    assert optim.optimizer.lr == pytest.approx(1.5e-4 * 4096 / 256)
    assert optim.optimizer.lr == pytest.approx(2.4e-3)
    assert tuple(optim.optimizer.betas) == (0.9, 0.95)
    assert optim.optimizer.weight_decay == 0.05
    assert cfg.auto_scale_lr.base_batch_size == 4096
    assert cfg.train_dataloader.batch_size * 8 == 4096
    # Schedule: 40 linear warm-up epochs, then cosine to 0 at the end.
    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and warmup.convert_to_iter_based
    assert (warmup.begin, warmup.end) == (0, 40)
    assert cosine.type == 'CosineAnnealingLR' and cosine.convert_to_iter_based
    assert (cosine.begin, cosine.end, cosine.eta_min) == (40, epochs, 0.0)
    assert cfg.train_cfg.max_epochs == epochs
    # Masking and augmentation.
    mask_generator = cfg.model.backbone.mask_generator
    assert mask_generator.type == 'RandomMaskGenerator'
    assert mask_generator.mask_ratio == 0.75
    assert cfg.model.head.norm_pix is True
    crop = cfg.train_dataloader.dataset.pipeline[1]
    assert crop.type == 'mmpretrain.RandomResizedCrop'
    assert crop.scale == 224 and tuple(crop.crop_ratio_range) == (0.2, 1.0)
    assert crop.interpolation == 'bicubic' and crop.backend == 'pillow'
    assert cfg.train_dataloader.dataset.pipeline[2].prob == 0.5
    assert cfg.train_dataloader.dataset.type == 'mmpretrain.ImageNet'


@pytest.mark.parametrize(
    'name, parent, expected',
    [
        (
            'mae_vit-base-p16_8xb512-amp-coslr-400e_in1k.py',
            'mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py',
            {
                'max_epochs': 400,
                'train_cfg.max_epochs': 400,
                'param_scheduler.1.end': 400,
            },
        ),
        (
            'mae_vit-large-p16_8xb512-amp-coslr-800e_in1k.py',
            'mae_vit-large-p16_8xb512-amp-coslr-1600e_in1k.py',
            {
                'max_epochs': 800,
                'train_cfg.max_epochs': 800,
                'param_scheduler.1.end': 800,
            },
        ),
        (
            'mae_vit-large-p16_8xb512-amp-coslr-1600e_in1k.py',
            'mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py',
            {'model.backbone.arch': 'l', 'model.neck.embed_dims': 1024},
        ),
        (
            'mae_vit-huge-p14_8xb512-amp-coslr-1600e_in1k.py',
            'mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py',
            {
                'model.backbone.arch': 'h',
                'model.backbone.patch_size': 14,
                'model.neck.embed_dims': 1280,
                'model.neck.num_patches': 256,
                'model.neck.patch_size': 14,
                'model.head.patch_size': 14,
            },
        ),
    ],
)
def test_variants_change_only_their_settings(name, parent, expected):
    diff = diff_keys(load(name), load(parent))
    assert {key: new for key, (_, new) in diff.items()} == expected


MISSING = 'missing'
PIPELINE = 'train_dataloader.dataset.pipeline'
ABLATIONS = {
    **{
        f'mae-ratio{r}': {'model.backbone.mask_generator.mask_ratio': r / 100}
        for r in (10, 20, 30, 40, 50, 60, 70, 80, 90)
    },
    'mae-block50': {
        'model.backbone.mask_generator.type': 'BlockMaskGenerator',
        'model.backbone.mask_generator.mask_ratio': 0.5,
    },
    'mae-block75': {
        'model.backbone.mask_generator.type': 'BlockMaskGenerator',
    },
    'mae-grid75': {
        'model.backbone.mask_generator.type': 'GridMaskGenerator',
        'model.backbone.mask_generator.mask_ratio': MISSING,
        'model.backbone.mask_generator.cell_size': 2,
    },
    'mae-dec-depth1': {'model.neck.decoder_num_layers': 1},
    'mae-dec-depth2': {'model.neck.decoder_num_layers': 2},
    'mae-dec-depth4': {'model.neck.decoder_num_layers': 4},
    'mae-dec-depth12': {'model.neck.decoder_num_layers': 12},
    'mae-dec-width128': {'model.neck.decoder_embed_dims': 128},
    'mae-dec-width256': {'model.neck.decoder_embed_dims': 256},
    'mae-dec-width768': {'model.neck.decoder_embed_dims': 768},
    'mae-dec-width1024': {'model.neck.decoder_embed_dims': 1024},
    'mae-enc-mask-token': {'model.backbone.encoder_mask_token': True},
    # The Table 1 default target is unnormalised pixels: an explicit alias.
    'mae-pixel': {},
    'mae-norm-pix': {'model.head.norm_pix': True},
    # Table 1e: only the training pipeline changes.
    'mae-aug-none': PIPELINE,
    'mae-aug-fixed-crop': PIPELINE,
    'mae-aug-color-jitter': PIPELINE,
    'mae-dvae': {
        'dalle_checkpoint': 'checkpoints/dalle_encoder.pth',
        'model.neck.predict_dims': 8192,
        'model.head.type': 'TokenReconstructionHead',
        'model.head.norm_pix': MISSING,
        'model.head.tokenizer.type': 'mmpretrain.DALL-E',
        'model.head.tokenizer.init_cfg.type': 'Pretrained',
        'model.head.tokenizer.init_cfg.checkpoint': (
            'checkpoints/dalle_encoder.pth'
        ),
    },
}


# Fig. 7: the default (unnormalised pixels) at other schedules.
SCHEDULES = (100, 200, 400, 1600)


def ablation_file(variant: str, epochs: int = 800) -> str:
    return f'{variant}_vit-large-p16_8xb512-amp-coslr-{epochs}e_in1k.py'


def test_every_ablation_is_tested():
    expected = {ablation_file(v) for v in ABLATIONS} | {
        ablation_file('mae-pixel', e) for e in SCHEDULES
    }
    assert {p.name for p in ABLATION_DIR.glob('*.py')} == expected


@pytest.mark.parametrize('variant', sorted(ABLATIONS))
def test_ablation_changes_exactly_its_setting(variant):
    cfg = load(ablation_file(variant))
    diff = diff_keys(cfg, load(ABLATION_BASE))
    if ABLATIONS[variant] == PIPELINE:
        assert diff and all(key.startswith(PIPELINE) for key in diff)
    else:
        changed = {
            key: MISSING
            if not isinstance(new, (str, int, float, bool))
            else new
            for key, (_, new) in diff.items()
        }
        assert changed == ABLATIONS[variant]
    # The ablations run the ViT-L 800-epoch recipe.
    assert cfg.model.backbone.arch == 'l' and cfg.train_cfg.max_epochs == 800
    assert cfg.model.head.patch_size == 16


@pytest.mark.parametrize('epochs', SCHEDULES)
def test_schedule_points_change_only_the_length(epochs):
    cfg = load(ablation_file('mae-pixel', epochs))
    diff = diff_keys(cfg, load(ABLATION_BASE))
    assert {key: new for key, (_, new) in diff.items()} == {
        'max_epochs': epochs,
        'train_cfg.max_epochs': epochs,
        'param_scheduler.1.end': epochs,
    }


def test_ablation_base_is_the_table1_default():
    """Table 1 default: ViT-L, 800 epochs, unnormalised pixels, 75 %
    random masking, decoder 8 x 512, random-size crop; the released 800e
    config differs in the target only."""
    diff = diff_keys(load(ABLATION_BASE), load(L800))
    assert {key: new for key, (_, new) in diff.items()} == {
        'model.head.norm_pix': False
    }


TINY_IMG = 112


def tiny_model_cfg(cfg: Config, tmp_path: Optional[Path]) -> dict:
    """The config's model with a tiny encoder on 112-pixel images.

    The decoder, the head and the mask generator are kept as configured.
    """
    model = copy.deepcopy(cfg.model)
    model.backbone.arch = dict(TINY_ARCH)
    model.backbone.img_size = TINY_IMG
    model.neck.embed_dims = TINY_ARCH['embed_dims']
    model.neck.num_patches = (TINY_IMG // model.backbone.patch_size) ** 2
    if model.head.type == 'TokenReconstructionHead':
        tokenizer = MODELS.build(copy.deepcopy(TINY_DALLE))
        path = tmp_path / 'tiny_dalle.pth'
        torch.save(tokenizer.state_dict(), path)
        model.head.tokenizer = dict(
            TINY_DALLE, init_cfg=dict(type='Pretrained', checkpoint=str(path))
        )
        model.neck.predict_dims = TINY_DALLE['vocab_size']
    return model


def run_model(model: torch.nn.Module, img_size: int) -> dict:
    torch.manual_seed(0)
    imgs = torch.randn(1, 3, img_size, img_size)
    model.train()
    out = model.reconstruct(imgs)
    out['loss'].backward()
    return out


@needs_mmcv
def test_vit_base_builds_at_full_size():
    cfg = load('mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py')
    model = MODELS.build(cfg.model)
    # The parameter count of the official MAE ViT-B pre-training model
    # (mmpretrain's model zoo: 111.91 M with the fixed position tables).
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(
        111.91e6, abs=0.01e6
    )
    assert type(model.data_preprocessor).__name__ == (
        'SelfSupDataPreprocessor'
    )
    with torch.no_grad():
        out = model.reconstruct(torch.randn(1, 3, 224, 224))
    assert out['pred'].shape == (1, 196, 768)
    assert int(out['mask'].sum()) == 147


@needs_mmcv
@pytest.mark.parametrize(
    'name',
    [n for n in sorted(PRETRAIN) if 'base' not in n]
    + [ablation_file(v) for v in sorted(ABLATIONS)],
)
def test_model_builds_with_a_tiny_encoder(name, tmp_path):
    cfg = load(name)
    model = MODELS.build(tiny_model_cfg(cfg, tmp_path))
    neck = cfg.model.neck
    decoder = model.neck
    assert len(decoder.decoder_blocks) == neck.decoder_num_layers
    assert decoder.decoder_embed.out_features == neck.decoder_embed_dims
    assert type(model.backbone.mask_generator).__name__ == (
        cfg.model.backbone.mask_generator.type
    )
    out = run_model(model, TINY_IMG)
    patches = (TINY_IMG // cfg.model.backbone.patch_size) ** 2
    assert out['mask'].shape == (1, patches)
    assert torch.isfinite(out['loss'])
    if cfg.model.backbone.get('encoder_mask_token'):
        assert model.backbone.mask_token.grad is not None
    if cfg.model.head.type == 'PixelReconstructionHead':
        p = cfg.model.head.patch_size
        assert out['pred'].shape == (1, patches, p * p * 3)
        assert model.head.norm_pix == cfg.model.head.norm_pix


@needs_mmcv
def test_no_weight_decay_on_norms_biases_and_tokens():
    cfg = load('mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py')
    model = MODELS.build(tiny_model_cfg(cfg, None))
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    optim_cfg.type = 'OptimWrapper'  # bf16 AMP needs a GPU
    optim_cfg.pop('dtype')
    wrapper = build_optim_wrapper(model, optim_cfg)
    decay = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            decay[id(param)] = group['weight_decay']
    named = dict(model.named_parameters())
    no_decay = [
        'backbone.cls_token',
        'neck.mask_token',
        'backbone.blocks.0.norm1.weight',
        'backbone.blocks.0.attn.qkv.bias',
        'neck.decoder_norm.bias',
        'neck.decoder_pred.bias',
    ]
    for name in no_decay:
        assert decay[id(named[name])] == 0.0, name
    for name in [
        'backbone.blocks.0.attn.qkv.weight',
        'neck.decoder_pred.weight',
    ]:
        assert decay[id(named[name])] == 0.05, name
    # The fixed sin-cos tables are not optimised at all.
    assert id(named['backbone.pos_embed']) not in decay


@needs_mmcv
def test_demo_config_trains_a_small_model():
    cfg = load(DEMO)
    assert cfg.default_scope == 'mmmim'
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_dataloader.num_workers == 2
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == 'mmpretrain.CustomDataset'
    assert dataset.with_label is False
    assert dataset.data_root == 'data/demo' and dataset.data_prefix == 'train'
    model = MODELS.build(cfg.model)
    assert model.backbone.grid_size == (8, 8)
    assert sum(p.numel() for p in model.parameters()) < 5e6
    out = run_model(model, 64)
    assert out['pred'].shape == (1, 64, 8 * 8 * 3)
    assert int(out['mask'].sum()) == 48
    names = [hook['type'] for hook in cfg.custom_hooks]
    assert names == ['ReconstructionVisHook', 'OnlineKNNHook']


@needs_mmcv
def test_demo_pipeline_on_images(tmp_path):
    import numpy as np
    from PIL import Image

    from mmmim.registry import DATASETS

    for i, size in enumerate([(120, 90), (300, 200)]):
        folder = tmp_path / 'train' / f'group{i}'
        folder.mkdir(parents=True)
        ramp = np.linspace(0, 255, size[0] * size[1] * 3) % 256
        array = ramp.reshape(size[1], size[0], 3).astype(np.uint8)
        Image.fromarray(array).save(folder / f'img{i}.jpg')
    cfg = load(DEMO)
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.data_root = str(tmp_path)
    dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == 2
    sample = dataset[1]
    assert sample['inputs'].shape == (3, 64, 64)
    assert sample['inputs'].dtype == torch.uint8
