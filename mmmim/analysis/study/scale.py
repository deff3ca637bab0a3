# Copyright (c) mmmim contributors. All rights reserved.
"""Scale a released config down to a study's data and sizes.

A study run starts from a released config (an ImageNet recipe or one of
the MAE paper's ablations) and changes only what the smaller data forces:
the dataset, the image and model sizes, the batch, the learning rate and
the number of epochs. Everything else, above all the factor an ablation
varies (mask ratio, mask sampling, mask token in the encoder, target,
augmentation), comes from the released file, so the CPU study and the
ImageNet configs cannot drift apart.

A *scale* is a dict with the keys (all optional):

* ``value_maps``: ``{dotted.key: {released value: study value}}``. Sizes
  that ablations vary (decoder depth and width, schedule length) are
  mapped value by value, so every ablation keeps its place relative to the
  default. A released value missing from a map is an error.
* ``replace``: ``{dotted.key: value}`` assigned as is (no merge), e.g. the
  encoder ``arch`` or the whole ``val_dataloader``.
* ``merge``: ``{dotted.key: value}`` merged as ``--cfg-options`` are.
* ``delete``: dotted keys removed (e.g. a GPU-only optimizer setting).
* ``dataset``: the training dataset, replacing the released one; the
  released training pipeline is kept without its loading steps
  (``drop_transforms``), with output sizes equal to ``img_size[0]`` set
  to ``img_size[1]`` and ``pipeline_merge`` (``{transform type: dict}``)
  merged (recursively) into the matching steps.
* ``warmup_epochs``: the warm-up of the rebuilt schedule: the released
  schedulers in order, the first ending at the warm-up, the last at
  ``train_cfg.max_epochs`` (their types and other arguments kept).
"""

import copy
from typing import Any, Dict, Optional

from mmengine.config import Config, ConfigDict

__all__ = ['scale_config', 'get_key', 'set_key']

_SIZE_KEYS = ('scale', 'crop_size', 'size', 'input_size')


def get_key(cfg: Any, key: str) -> Any:
    """``cfg[a][b]...`` for ``key='a.b...'`` (integers index lists)."""
    node = cfg
    for part in key.split('.'):
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise KeyError(f'{key!r}: no {part!r} in the config') from e
    return node


def set_key(cfg: Any, key: str, value: Any) -> None:
    """Assign ``value`` at ``key`` (parents must exist)."""
    *parents, last = key.split('.')
    node = get_key(cfg, '.'.join(parents)) if parents else cfg
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _as_config(value: Any) -> Any:
    return ConfigDict(value) if isinstance(value, dict) else value


def _merge_into(target: dict, changes: dict) -> None:
    """Recursive update: nested dicts are merged, other values set."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _scale_pipeline(pipeline: list, scale: dict) -> list:
    drop = set(scale.get('drop_transforms', ()))
    sizes = scale.get('img_size')
    merges = scale.get('pipeline_merge', {})
    out = []
    for step in pipeline:
        name = step['type'].split('.')[-1]
        if name in drop:
            continue
        step = copy.deepcopy(step)
        if sizes is not None:
            for size_key in _SIZE_KEYS:
                if step.get(size_key) == sizes[0]:
                    step[size_key] = sizes[1]
        _merge_into(step, merges.get(name, {}))
        out.append(step)
    return out


def _rebuild_schedule(cfg: Config, warmup_epochs: Optional[int]) -> None:
    schedulers = cfg.get('param_scheduler')
    if not isinstance(schedulers, list) or not schedulers:
        return
    max_epochs = cfg.train_cfg.max_epochs
    if warmup_epochs is None or len(schedulers) == 1:
        schedulers[-1]['end'] = max_epochs
        return
    if not 0 < warmup_epochs < max_epochs:
        raise ValueError(
            f'warmup_epochs {warmup_epochs} must be in (0, {max_epochs})'
        )
    released_warmup = schedulers[0]['end']
    schedulers[0]['begin'], schedulers[0]['end'] = 0, warmup_epochs
    for sched in schedulers[1:]:
        # A scheduler that starts after the warm-up still does; one that
        # overlaps it from step 0 (SimMIM's step decay) still does too.
        if sched.get('begin', 0) == released_warmup:
            sched['begin'] = warmup_epochs
        sched['end'] = max_epochs


def scale_config(
    path: str,
    scale: Dict[str, Any],
    options: Optional[Dict[str, Any]] = None,
) -> Config:
    """Load a released config and scale it down.

    Args:
        path (str): The released config file.
        scale (dict): The scale (see the module docstring).
        options (dict, optional): The run's own ``--cfg-options``-style
            changes, merged last.

    Returns:
        Config: The study-sized config; ``study_source`` names ``path``.
    """
    cfg = Config.fromfile(path)
    for key, mapping in scale.get('value_maps', {}).items():
        released = get_key(cfg, key)
        if released not in mapping:
            raise KeyError(
                f'{path}: {key} = {released!r} has no study value; add it '
                f"to the scale's value_maps[{key!r}] (known: "
                f'{sorted(mapping)})'
            )
        set_key(cfg, key, mapping[released])
    for key, value in scale.get('replace', {}).items():
        set_key(cfg, key, _as_config(copy.deepcopy(value)))
    if scale.get('merge'):
        cfg.merge_from_dict(copy.deepcopy(scale['merge']))
    for key in scale.get('delete', ()):
        *parents, last = key.split('.')
        node = get_key(cfg, '.'.join(parents)) if parents else cfg
        node.pop(last, None)
    if scale.get('dataset') is not None:
        pipeline = _scale_pipeline(
            cfg.train_dataloader.dataset.get('pipeline', []), scale
        )
        dataset = copy.deepcopy(dict(scale['dataset']))
        dataset['pipeline'] = pipeline
        cfg.train_dataloader.dataset = ConfigDict(dataset)
    _rebuild_schedule(cfg, scale.get('warmup_epochs'))
    if options:
        cfg.merge_from_dict(copy.deepcopy(options))
        _rebuild_schedule(cfg, scale.get('warmup_epochs'))
    hooks = cfg.get('default_hooks', {})
    if 'checkpoint' in hooks:
        # Every epoch, one file kept: an interrupted study loses at most an
        # epoch of a run (the runner resumes it).
        hooks.checkpoint.interval = 1
        hooks.checkpoint.max_keep_ckpts = 1
    cfg.study_source = path
    return cfg
