# Copyright (c) mmmim contributors. All rights reserved.
"""The MAE classification configs: recipes, builds and layer-wise decay."""

import copy
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import mmmim.models  # noqa: F401
from mmmim.registry import MODELS

from .test_mae_configs import diff_keys

pytestmark = pytest.mark.requires('mmcv')  # mmpretrain needs it

CLS_DIR = Path(__file__).resolve().parents[2] / 'configs/mae/benchmarks/cls'
# name: (arch, epochs, blr, layer decay, drop path, image size)
FINETUNE = {
    'vit-base-p16_8xb128-coslr-100e_in1k.py': ('b', 100, 5e-4, 0.65, 0.1, 224),
    'vit-base-p16_8xb128-ema-coslr-100e_in1k.py': (
        'b',
        100,
        5e-4,
        0.65,
        0.1,
        224,
    ),
    'vit-large-p16_8xb128-coslr-50e_in1k.py': ('l', 50, 1e-3, 0.75, 0.2, 224),
    'vit-huge-p14_8xb128-coslr-50e_in1k.py': ('h', 50, 1e-3, 0.75, 0.3, 224),
    'vit-huge-p14_32xb32-coslr-50e_in1k-448px.py': (
        'h',
        50,
        1e-3,
        0.75,
        0.3,
        448,
    ),
}
# name: (arch, out_type)
LINEAR = {
    'vit-base-p16_8xb2048-linear-coslr-90e_in1k.py': ('b', 'cls_token'),
    'vit-base-p16_8xb2048-linear-avgpool-coslr-90e_in1k.py': (
        'b',
        'avg_featmap',
    ),
    'vit-large-p16_8xb2048-linear-coslr-90e_in1k.py': ('l', 'cls_token'),
    'vit-huge-p14_8xb2048-linear-coslr-90e_in1k.py': ('h', 'cls_token'),
}
# name: number of fine-tuned (last) blocks of ViT-L, as in Figure 9.
PARTIAL = {
    f'vit-large-p16_8xb128-partial-last{k}-coslr-50e_in1k.py': k
    for k in (1, 2, 4, 6, 8, 10, 12, 18)
}
FASHION = {
    'vit-mini-p4_1xb128-coslr-4e_fashion-mnist.py',
    'vit-mini-p4_1xb256-linear-coslr-8e_fashion-mnist.py',
}
DEPTH = {'b': 12, 'l': 24, 'h': 32}
WIDTH = {'b': 768, 'l': 1024, 'h': 1280}
TINY_ARCH = dict(
    embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64
)


def load(name: str) -> Config:
    return Config.fromfile(str(CLS_DIR / name))


def total_batch(name: str) -> int:
    gpus, per_gpu = re.search(r'_(\d+)xb(\d+)-', name).groups()
    return int(gpus) * int(per_gpu)


@pytest.fixture(autouse=True)
def _mmmim_scope():
    with DefaultScope.overwrite_default_scope('mmmim'):
        yield


# Supervised-from-scratch baselines and the Table 6 transfer configs: their
# recipe values are checked by test_recipes.py.
SCRATCH = {
    'vit-base-p16_8xb512-scratch-ema-coslr-300e_in1k.py',
    'vit-large-p16_8xb512-scratch-ema-coslr-200e_in1k.py',
}
TRANSFER = {
    f'{stem}_{dataset}.py'
    for stem in (
        'vit-base-p16_8xb128-coslr-100e',
        'vit-large-p16_8xb128-coslr-50e',
        'vit-huge-p14_8xb128-coslr-50e',
    )
    for dataset in (
        'inat2017',
        'inat2018',
        'inat2019',
        'places205',
        'places365',
    )
}


# Fine-tuning recipes above on FSDP2 or DeepSpeed: checked against their
# parents by test_sharded_configs.py.
SHARDED = {
    'vit-huge-p14_8xb128-fsdp2-coslr-50e_in1k.py',
    'vit-large-p16_8xb128-ds-coslr-50e_in1k.py',
    'vit-huge-p14_8xb128-ds-coslr-50e_in1k.py',
}


def test_every_config_is_covered():
    names = {p.name for p in CLS_DIR.glob('*.py')}
    assert names == (
        set(FINETUNE)
        | set(LINEAR)
        | set(PARTIAL)
        | FASHION
        | SCRATCH
        | TRANSFER
        | SHARDED
    )


@pytest.mark.parametrize('name', sorted(FINETUNE))
def test_finetune_recipe(name):
    arch, epochs, blr, decay, drop_path, size = FINETUNE[name]
    cfg = load(name)
    assert cfg.default_scope == 'mmmim'
    # AdamW, lr = blr * total batch / 256 at total batch 1024.
    assert total_batch(name) == 1024
    assert (
        cfg.train_dataloader.batch_size
        * int(name[name.index('_') + 1 :].split('x')[0])
        == 1024
    )
    optim = cfg.optim_wrapper
    assert optim.optimizer.type == 'AdamW'
    assert optim.optimizer.lr == pytest.approx(blr * 1024 / 256)
    assert tuple(optim.optimizer.betas) == (0.9, 0.999)
    assert optim.optimizer.weight_decay == 0.05
    assert cfg.auto_scale_lr.base_batch_size == 1024
    assert optim.constructor == (
        'mmpretrain.LearningRateDecayOptimWrapperConstructor'
    )
    assert optim.paramwise_cfg.layer_decay_rate == decay
    assert optim.paramwise_cfg.flat_decay_mult == 0.0
    # Schedule: 5 warm-up epochs, cosine to 1e-6.
    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and (warmup.begin, warmup.end) == (0, 5)
    assert cosine.type == 'CosineAnnealingLR'
    assert (cosine.begin, cosine.end, cosine.eta_min) == (5, epochs, 1e-6)
    assert cfg.train_cfg.max_epochs == epochs
    # Model: global pool + fc_norm, drop path, learnable pos_embed.
    backbone = cfg.model.backbone
    assert backbone.type == 'mmmim.MAEViT' and backbone.arch == arch
    assert backbone.mask_generator is None
    assert backbone.img_size == size
    assert backbone.patch_size == (14 if arch == 'h' else 16)
    assert backbone.drop_path_rate == drop_path
    assert backbone.out_type == 'avg_featmap' and not backbone.final_norm
    assert backbone.pos_embed_trainable
    assert backbone.init_cfg.type == 'Pretrained'
    assert backbone.init_cfg.prefix == 'backbone.'
    head = cfg.model.head
    assert head.type == 'mmpretrain.LinearClsHead'
    assert head.in_channels == WIDTH[arch] and head.num_classes == 1000
    assert head.init_cfg == [
        dict(type='TruncNormal', layer='Linear', std=2e-5)
    ]
    assert head.loss.type == 'mmpretrain.LabelSmoothLoss'
    assert head.loss.label_smooth_val == 0.1
    assert [(a.type, a.alpha) for a in cfg.model.train_cfg.augments] == [
        ('mmpretrain.Mixup', 0.8),
        ('mmpretrain.CutMix', 1.0),
    ]
    # Data: RandAugment rand-m9-mstd0.5-inc1, random erasing 0.25.
    train = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert train['mmpretrain.RandomResizedCrop'].scale == size
    assert train['mmpretrain.RandomResizedCrop'].interpolation == 'bicubic'
    rand_aug = train['mmpretrain.RandAugment']
    assert rand_aug.policies == 'timm_increasing'
    assert (rand_aug.num_policies, rand_aug.magnitude_level) == (2, 9)
    assert (rand_aug.total_level, rand_aug.magnitude_std) == (10, 0.5)
    assert train['mmpretrain.RandomErasing'].erase_prob == 0.25
    assert train['mmpretrain.RandomErasing'].mode == 'rand'
    test = {t.type: t for t in cfg.val_dataloader.dataset.pipeline}
    resize = test['mmpretrain.ResizeEdge']
    # crop_pct 224/256 at 224 pixels and 1.0 above, as official.
    assert resize.scale == (256 if size == 224 else 448)
    assert resize.interpolation == 'bicubic' and resize.edge == 'short'
    assert test['mmpretrain.CenterCrop'].crop_size == size
    assert cfg.val_evaluator.type == 'mmpretrain.Accuracy'
    hooks = [h.type for h in cfg.get('custom_hooks', [])]
    assert hooks == (['EMAHook'] if 'ema' in name else [])


@pytest.mark.parametrize('name', sorted(LINEAR))
def test_linear_probe_recipe(name):
    arch, out_type = LINEAR[name]
    cfg = load(name)
    assert total_batch(name) == 16384
    assert cfg.train_dataloader.batch_size == 2048
    optim = cfg.optim_wrapper
    assert optim.optimizer.type == 'mmpretrain.LARS'
    assert optim.optimizer.lr == pytest.approx(0.1 * 16384 / 256)
    assert optim.optimizer.weight_decay == 0.0
    assert optim.optimizer.momentum == 0.9
    assert optim.paramwise_cfg.custom_keys['.bias'].lars_exclude
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 10)
    assert (cosine.begin, cosine.end, cosine.eta_min) == (10, 90, 0.0)
    assert cfg.train_cfg.max_epochs == 90
    backbone = cfg.model.backbone
    assert backbone.arch == arch and backbone.frozen_stages == DEPTH[arch]
    assert backbone.out_type == out_type
    assert backbone.final_norm == (out_type == 'cls_token')
    neck = cfg.model.neck
    assert neck.type == 'mmpretrain.ClsBatchNormNeck'
    assert (neck.input_features, neck.affine, neck.eps) == (
        WIDTH[arch],
        False,
        1e-6,
    )
    head = cfg.model.head
    assert head.in_channels == WIDTH[arch]
    assert head.init_cfg == [
        dict(type='TruncNormal', layer='Linear', std=0.01)
    ]
    assert 'train_cfg' not in cfg.model  # no Mixup / CutMix


@pytest.mark.parametrize('name', sorted(PARTIAL))
def test_partial_finetune_changes_only_frozen_stages(name):
    k = PARTIAL[name]
    diff = diff_keys(
        load(name), load('vit-large-p16_8xb128-coslr-50e_in1k.py')
    )
    assert {key: new for key, (_, new) in diff.items()} == {
        'model.backbone.frozen_stages': 24 - k
    }


def tiny_model_cfg(cfg: Config) -> dict:
    model = copy.deepcopy(cfg.model)
    backbone = model.backbone
    arch = backbone.arch
    depth = DEPTH[arch] if isinstance(arch, str) else arch['num_layers']
    frozen = backbone.get('frozen_stages', -1)
    if frozen >= depth:
        backbone.frozen_stages = TINY_ARCH['num_layers']  # linear probe
    elif frozen > 0:
        backbone.frozen_stages = TINY_ARCH['num_layers'] - 1  # partial
    backbone.arch = dict(TINY_ARCH)
    backbone.img_size = 2 * backbone.patch_size
    backbone.init_cfg = None
    model.head.in_channels = TINY_ARCH['embed_dims']
    if model.get('neck'):
        model.neck.input_features = TINY_ARCH['embed_dims']
    return model


@pytest.mark.parametrize(
    'name', sorted(set(FINETUNE) | set(LINEAR) | set(PARTIAL) | FASHION)
)
def test_config_builds_and_computes_a_loss(name):
    from mmpretrain.structures import DataSample

    cfg = load(name)
    model = MODELS.build(tiny_model_cfg(cfg))
    model.init_weights()
    model.train()
    size = model.backbone.patch_size * 2
    torch.manual_seed(0)
    data = dict(
        inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8)] * 2,
        data_samples=[DataSample().set_gt_label(i) for i in (1, 3)],
    )
    data = model.data_preprocessor(data, True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss'])
    assert type(model.backbone).__name__ == 'MAEViT'
    frozen = cfg.model.backbone.get('frozen_stages', -1)
    if 'linear' in name:
        assert not any(p.requires_grad for p in model.backbone.parameters())
    elif frozen > 0:
        assert not model.backbone.blocks[0].attn.qkv.weight.requires_grad
        assert model.backbone.blocks[-1].attn.qkv.weight.requires_grad


def official_lr_decay_groups(names_shapes, weight_decay, layer_decay, depth):
    """facebookresearch/mae util/lr_decay.py::param_groups_lrd, per name.

    ``names_shapes`` uses the official names (``cls_token``, ``blocks.i.*``,
    ``fc_norm.*``, ``head.*``).
    """
    num_layers = depth + 1
    no_weight_decay_list = {'pos_embed', 'cls_token', 'dist_token'}

    def layer_id(name):
        if name in ['cls_token', 'pos_embed']:
            return 0
        elif name.startswith('patch_embed'):
            return 0
        elif name.startswith('blocks'):
            return int(name.split('.')[1]) + 1
        else:
            return num_layers

    groups = {}
    for name, shape in names_shapes:
        if len(shape) == 1 or name in no_weight_decay_list:
            this_decay = 0.0
        else:
            this_decay = weight_decay
        lid = layer_id(name)
        groups[name] = (lid, layer_decay ** (num_layers - lid), this_decay)
    return groups


def to_official(name: str) -> str:
    return name.replace('backbone.', '').replace('head.fc.', 'head.')


def test_layer_decay_groups_match_official_vit_b():
    cfg = load('vit-base-p16_8xb128-coslr-100e_in1k.py')
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg)  # the full ViT-B; weights do not matter
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    wrapper = build_optim_wrapper(model, optim_cfg)
    groups = wrapper.optimizer.param_groups
    named = dict(model.named_parameters())
    # Embeddings (4), 12 blocks of 12, fc_norm, head; no final norm.
    assert len(named) == 4 + 12 * 12 + 2 + 2
    official = official_lr_decay_groups(
        [(to_official(n), p.shape) for n, p in named.items()],
        weight_decay=0.05,
        layer_decay=0.65,
        depth=12,
    )
    base_lr = 5e-4 * 1024 / 256
    seen = set()
    for group in groups:
        (param,) = group['params']
        name = group['param_name']
        assert param is named[name]
        layer_id, scale, decay = official[to_official(name)]
        assert group['layer_id'] == layer_id, name
        assert group['lr_scale'] == pytest.approx(scale, rel=1e-12), name
        assert group['lr'] == pytest.approx(base_lr * scale, rel=1e-12), name
        assert group['weight_decay'] == decay, name
        seen.add(name)
    assert seen == set(named)  # every parameter trains (pos_embed too)
    by_name = {g['param_name']: g for g in groups}
    # Spot checks against hand-computed values.
    cls_token = by_name['backbone.cls_token']
    assert cls_token['layer_id'] == 0 and cls_token['weight_decay'] == 0
    assert cls_token['lr_scale'] == pytest.approx(0.65**13)
    assert by_name['backbone.pos_embed']['weight_decay'] == 0
    qkv = by_name['backbone.blocks.0.attn.qkv.weight']
    assert qkv['layer_id'] == 1 and qkv['lr_scale'] == pytest.approx(0.65**12)
    assert qkv['weight_decay'] == 0.05
    norm2 = by_name['backbone.blocks.11.norm2.bias']
    assert norm2['layer_id'] == 12 and norm2['lr_scale'] == pytest.approx(0.65)
    assert norm2['weight_decay'] == 0.0
    for name in ('head.fc.weight', 'head.fc.bias', 'backbone.fc_norm.weight'):
        assert by_name[name]['layer_id'] == 13
        assert by_name[name]['lr_scale'] == 1.0
    assert by_name['head.fc.weight']['weight_decay'] == 0.05
    assert by_name['head.fc.bias']['weight_decay'] == 0.0


def test_bn_probe_head_known_answer():
    cfg = load('vit-base-p16_8xb2048-linear-coslr-90e_in1k.py')
    model = MODELS.build(tiny_model_cfg(cfg))
    model.init_weights()
    bn = model.neck.bn
    assert isinstance(bn, torch.nn.BatchNorm1d)
    assert bn.weight is None and bn.bias is None and bn.eps == 1e-6
    assert list(model.neck.parameters()) == []
    fc = model.head.fc
    assert torch.all(fc.bias == 0)
    assert 0.005 < float(fc.weight.detach().std()) < 0.015  # std 0.01
    # Training mode: (x - batch mean) / sqrt(biased batch var + 1e-6).
    model.train()
    feats = torch.randn(8, 32) * 5 + 3
    (out,) = model.neck((feats,))
    mean = feats.mean(0)
    var = feats.var(0, unbiased=False)
    torch.testing.assert_close(out, (feats - mean) / torch.sqrt(var + 1e-6))
    logits = model.head((out,))
    torch.testing.assert_close(logits, out @ fc.weight.T + fc.bias)
