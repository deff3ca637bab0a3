# Copyright (c) mmmim contributors. All rights reserved.
"""Every released config matches the official recipe of ``recipes.yml``.

``configs/recipes.yml`` transcribes the official values once per recipe
(source repository, file and commit) and lists every config of every
metafile: a ``recipe`` with per-config ``values`` overrides, or
``official: null`` with a ``reason``. This test resolves each config with
``Config.fromfile`` and compares every transcribed value.
"""

import re
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
import yaml
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / 'configs' / 'recipes.yml'
MISSING = object()


def _get(obj, dotted: str, default=MISSING):
    for key in dotted.split('.'):
        if isinstance(obj, (list, tuple)):
            obj = obj[int(key)]
        elif hasattr(obj, 'get') and key in obj:
            obj = obj[key]
        else:
            return default
    return obj


def _pipeline(cfg) -> list:
    return list(_get(cfg, 'train_dataloader.dataset.pipeline', []) or [])


def _step(cfg, suffix: str):
    for step in _pipeline(cfg):
        if str(step.get('type', '')).split('.')[-1] == suffix:
            return step
    return {}


def _total_batch(cfg, path: Path):
    gpus = int(re.search(r'_(\d+)xb\d+', path.name).group(1))
    accum = _get(cfg, 'optim_wrapper.accumulative_counts', 1)
    return gpus * cfg.train_dataloader.batch_size * accum


def _ema(cfg):
    for hook in cfg.get('custom_hooks', []) or []:
        if hook.get('type') == 'EMAHook':
            return round(1 - hook['momentum'], 6)
    return None


def _augment(cfg, kind: str):
    for aug in _get(cfg, 'model.train_cfg.augments', []) or []:
        if aug['type'].split('.')[-1] == kind:
            return aug['alpha']
    return None


# Each checked field: how to read it from a resolved config.
FIELDS: Dict[str, Callable[[Any, Path], Any]] = {
    'lr': lambda c, p: c.optim_wrapper.optimizer.lr,
    'total_batch': _total_batch,
    'epochs': lambda c, p: c.train_cfg.get('max_epochs'),
    'iters': lambda c, p: c.train_cfg.get('max_iters'),
    'warmup': lambda c, p: c.param_scheduler[0].end,
    'min_lr': lambda c, p: c.param_scheduler[-1].get('eta_min'),
    'optimizer': lambda c, p: c.optim_wrapper.optimizer.type,
    'betas': lambda c, p: list(c.optim_wrapper.optimizer.get('betas', [])),
    'momentum': lambda c, p: c.optim_wrapper.optimizer.get('momentum'),
    'weight_decay': lambda c, p: c.optim_wrapper.optimizer.weight_decay,
    'layer_decay': lambda c, p: _get(
        c, 'optim_wrapper.paramwise_cfg.layer_decay_rate', None
    ),
    'drop_path': lambda c, p: _get(c, 'model.backbone.drop_path_rate', None),
    'mask_ratio': lambda c, p: _get(
        c, 'model.backbone.mask_generator.mask_ratio', None
    ),
    'pipeline_mask_ratio': lambda c, p: _get(
        _step(c, 'GenerateMask'), 'mask_generator.mask_ratio', None
    ),
    'decoder_depth': lambda c, p: _get(c, 'model.neck.decoder_num_layers'),
    'decoder_width': lambda c, p: _get(c, 'model.neck.decoder_embed_dims'),
    'norm_pix': lambda c, p: _get(
        c, 'model.head.norm_pix', _get(c, 'model.head.norm_target', None)
    ),
    'crop_scale': lambda c, p: list(
        _get(_step(c, 'RandomResizedCrop'), 'crop_ratio_range', [])
    ),
    'multiscale_crop': lambda c, p: list(
        _get(_step(c, 'MultiScaleCrop'), 'scales', [])
    ),
    'color_jitter': lambda c, p: _get(
        _step(c, 'ColorJitter'), 'brightness', None
    ),
    'sampling': lambda c, p: '{}x{}'.format(
        _step(c, 'SampleFrames').get('clip_len'),
        _step(c, 'SampleFrames').get('frame_interval'),
    ),
    'randaug_magnitude': lambda c, p: _step(c, 'RandAugment').get(
        'magnitude_level'
    ),
    'reprob': lambda c, p: _step(c, 'RandomErasing').get('erase_prob'),
    'label_smoothing': lambda c, p: _get(
        c, 'model.head.loss.label_smooth_val', None
    ),
    'mixup': lambda c, p: _augment(c, 'Mixup'),
    'cutmix': lambda c, p: _augment(c, 'CutMix'),
    'ema': lambda c, p: _ema(c),
    'num_classes': lambda c, p: _get(c, 'model.head.num_classes', None),
}


def load_table() -> dict:
    with open(TABLE, encoding='utf-8') as f:
        return yaml.safe_load(f)


def released_configs():
    configs = set()
    for meta in sorted((REPO / 'configs').glob('*/metafile.yml')):
        with open(meta, encoding='utf-8') as f:
            for model in yaml.safe_load(f).get('Models') or []:
                configs.add(model['Config'])
    return configs


def expected_values(table: dict, row: dict) -> dict:
    recipe = table['recipes'][row['recipe']]
    return {**recipe['values'], **(row.get('values') or {})}


def same(actual, expected) -> bool:
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return actual == pytest.approx(expected, rel=1e-6, abs=1e-12)
    if isinstance(expected, list) and isinstance(actual, (list, tuple)):
        return len(actual) == len(expected) and all(
            same(a, e) for a, e in zip(actual, expected)
        )
    return actual == expected


def test_every_released_config_has_a_row():
    rows = load_table()['configs']
    released = released_configs()
    assert sorted(released - set(rows)) == [], 'configs without a row'
    assert sorted(set(rows) - released) == [], 'rows of unreleased configs'


def test_rows_name_a_recipe_or_a_reason():
    table = load_table()
    for recipe in table['recipes'].values():
        source = recipe['source']
        for key in ('repo', 'file', 'commit'):
            assert source.get(key), f'{recipe}: source lacks {key}'
        assert set(recipe['values']) <= set(FIELDS), recipe['values']
    for config, row in table['configs'].items():
        if 'recipe' in row:
            assert row['recipe'] in table['recipes'], config
            assert set(row.get('values') or {}) <= set(FIELDS), config
        else:
            assert 'official' in row and row['official'] is None, config
            assert len(row.get('reason', '')) > 20, config


def test_configs_match_the_official_values():
    table = load_table()
    checked = configs = 0
    errors = []
    for config, row in sorted(table['configs'].items()):
        if 'recipe' not in row:
            continue
        path = REPO / config
        cfg = Config.fromfile(str(path))
        configs += 1
        deviations = row.get('deviations') or {}
        for field, expected in expected_values(table, row).items():
            actual = FIELDS[field](cfg, path)
            checked += 1
            if field in deviations:
                # A documented departure: the config holds the stated
                # value, which differs from the official one.
                stated = deviations[field]
                assert len(stated.get('reason', '')) > 20, config
                if not same(actual, stated['config']) or same(
                    actual, expected
                ):
                    errors.append(f'{config}: {field} deviation {actual!r}')
            elif not same(actual, expected):
                errors.append(f'{config}: {field} {actual!r} != {expected!r}')
    print(f'checked {checked} values over {configs} configs')
    assert not errors, '\n'.join(errors)
    assert configs >= 90 and checked >= 1000
