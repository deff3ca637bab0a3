# Copyright (c) mmmim contributors. All rights reserved.
"""The FSDP2 and DeepSpeed configs are their parents' recipes, only
sharded: they differ from the config they derive from in the runner, the
strategy and the optimizer wrapper, nothing else, and pass the start-up
check of tools/train.py."""

from pathlib import Path

import pytest
from mmengine.config import Config

from mmmim.engine.config_check import check_config

from .test_mae_configs import diff_keys

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
MAE_CLS = 'mae/benchmarks/cls'
VIDEOMAE_L = (
    'videomae/videomae_vit-large-p16_64xb8-amp-coslr-1600e_k400-16x4x1.py'
)
# config: (parent, keys it may change besides runner_type and strategy)
SHARDED = {
    'mae/mae_vit-huge-p14_8xb512-fsdp2-coslr-1600e_in1k.py': (
        'mae/mae_vit-huge-p14_8xb512-amp-coslr-1600e_in1k.py',
        {'optim_wrapper.type', 'optim_wrapper.dtype'},
    ),
    f'{MAE_CLS}/vit-huge-p14_8xb128-fsdp2-coslr-50e_in1k.py': (
        f'{MAE_CLS}/vit-huge-p14_8xb128-coslr-50e_in1k.py',
        {'optim_wrapper.type', 'optim_wrapper.dtype'},
    ),
    f'{MAE_CLS}/vit-large-p16_8xb128-ds-coslr-50e_in1k.py': (
        f'{MAE_CLS}/vit-large-p16_8xb128-coslr-50e_in1k.py',
        {'optim_wrapper.type', 'default_hooks.non_finite_guard'},
    ),
    f'{MAE_CLS}/vit-huge-p14_8xb128-ds-coslr-50e_in1k.py': (
        f'{MAE_CLS}/vit-huge-p14_8xb128-coslr-50e_in1k.py',
        {'optim_wrapper.type', 'default_hooks.non_finite_guard'},
    ),
    'videomae/videomae_vit-large-p16_64xb8-fsdp2-coslr-1600e_k400-16x4x1.py': (
        VIDEOMAE_L,
        {'optim_wrapper.type', 'optim_wrapper.dtype'},
    ),
    'videomae/videomae_vit-huge-p16_64xb8-fsdp2-coslr-1600e_k400-16x4x1.py': (
        VIDEOMAE_L,
        {
            'optim_wrapper.type',
            'optim_wrapper.dtype',
            'model.backbone.arch',
            'model.neck.embed_dims',
        },
    ),
}


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIGS / name))


def test_every_sharded_config_is_listed():
    found = {
        str(p.relative_to(CONFIGS))
        for p in CONFIGS.rglob('*.py')
        if '-fsdp2-' in p.name or '-ds-' in p.name
    }
    assert found == set(SHARDED)


@pytest.mark.parametrize('name', sorted(SHARDED))
def test_sharded_config_is_its_parent_recipe(name):
    parent_name, allowed = SHARDED[name]
    cfg, parent = load(name), load(parent_name)
    changed = {
        key
        for key in diff_keys(cfg, parent)
        if not key.startswith(('runner_type', 'strategy.'))
    }
    # A hook switched off (None) drops all of its keys.
    changed = {
        k for k in changed if not any(k.startswith(a + '.') for a in allowed)
    }
    assert changed <= allowed, sorted(changed - allowed)
    assert cfg.runner_type == 'FlexibleRunner'
    # Unknown strategy types or arguments fail here, at start-up.
    check_config(cfg)


@pytest.mark.parametrize('name', sorted(n for n in SHARDED if '-fsdp2-' in n))
def test_fsdp2_configs_train_in_bf16_with_fp32_reduction(name):
    cfg = load(name)
    assert cfg.strategy.type == 'mmmim.FSDP2Strategy'
    assert dict(cfg.strategy.mp_policy) == dict(
        param_dtype='bfloat16', reduce_dtype='float32'
    )
    # The blocks get bf16 weights from the strategy; the batch, targets
    # and loss stay fp32, with autocast for the layers outside the blocks.
    assert cfg.strategy.cast_root_inputs is False
    assert cfg.optim_wrapper.type == 'mmmim.AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    if 'videomae' in name:
        assert cfg.strategy.activation_checkpointing


def test_negative_control_a_changed_recipe_is_found():
    name = 'mae/mae_vit-huge-p14_8xb512-fsdp2-coslr-1600e_in1k.py'
    cfg = load(name)
    cfg.optim_wrapper.optimizer.lr = 1e-3
    changed = set(diff_keys(cfg, load(SHARDED[name][0])))
    assert 'optim_wrapper.optimizer.lr' in changed
