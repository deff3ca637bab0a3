# Copyright (c) mmmim contributors. All rights reserved.
"""A study file: the runs, the baselines and how each is evaluated.

A study is an mmengine config with one top-level ``study`` dict::

    study = dict(
        name='fashion-mnist_mae',
        scales=dict(mae=dict(...)),            # see .scale
        finetune=dict(config=..., epochs=5, options={...}),
        probe=dict(pool='avg', out_indices=-1, num_val=10000),
        runs=[
            dict(name='mae', config=RELEASED, scale='mae',
                 groups=dict(mask_ratio=75, mask_token='off'),
                 options={...}),
        ],
        baselines=dict(pixels=True, random='mae', supervised='mae'),
    )

``groups`` places a run in figures: ``{figure: x}``, ``x`` its value on
that figure's horizontal axis (one run, e.g. the default, can sit in
several); a run may name its own ``finetune`` and ``probe`` settings
(e.g. no class-token feature for an encoder without one). ``random`` may
list several runs (``random=['mae', 'simmim']``): a study that compares
methods with different encoders reads each one untrained.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from mmengine.config import Config

__all__ = ['RunSpec', 'StudySpec', 'baseline_runs', 'load_study']

BASELINES = ('pixels', 'random', 'supervised')


@dataclass
class RunSpec:
    """One pre-training run of a study and its evaluations."""

    name: str
    config: str
    scale: str
    options: Dict[str, Any] = field(default_factory=dict)
    groups: Dict[str, Any] = field(default_factory=dict)
    label: Optional[str] = None
    finetune: Optional[Dict[str, Any]] = None
    probe: Optional[Dict[str, Any]] = None


@dataclass
class StudySpec:
    """A parsed study file."""

    name: str
    scales: Dict[str, Dict[str, Any]]
    finetune: Dict[str, Any]
    probe: Dict[str, Any]
    runs: List[RunSpec]
    baselines: Dict[str, Any]
    path: str = ''

    def run(self, name: str) -> RunSpec:
        for run in self.runs:
            if run.name == name:
                return run
        raise KeyError(
            f'no run {name!r} in study {self.name}; runs: '
            f'{[r.name for r in self.runs]}'
        )


def baseline_runs(baselines: Dict[str, Any]) -> Dict[str, Optional[str]]:
    """The result name of each baseline of a study, in table order, and
    the run whose encoder it uses (None for raw pixels).

    ``random='mae'`` gives ``baseline_random``; a list,
    ``random=['mae', 'simmim']``, gives ``baseline_random_mae`` and
    ``baseline_random_simmim``: each method against its own encoder from
    random initialisation.
    """
    out: Dict[str, Optional[str]] = {}
    for kind in BASELINES:
        value = baselines.get(kind)
        if not value:
            continue
        if kind == 'random' and isinstance(value, (list, tuple)):
            out.update({f'baseline_random_{run}': run for run in value})
        else:
            out[f'baseline_{kind}'] = None if kind == 'pixels' else value
    return out


def _to_plain(value: Any) -> Any:
    if hasattr(value, 'to_dict'):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_plain(v) for v in value)
    return value


def load_study(path: str) -> StudySpec:
    """Parse and check a study file; errors name the file and the fix.

    Args:
        path (str): The study config.

    Returns:
        StudySpec: The study.
    """
    cfg = Config.fromfile(path)
    if 'study' not in cfg:
        raise KeyError(f'{path} has no top-level `study` dict')
    study = _to_plain(cfg.study)
    known = {'name', 'scales', 'finetune', 'probe', 'runs', 'baselines'}
    unknown = set(study) - known
    if unknown:
        raise KeyError(f'{path}: unknown study keys {sorted(unknown)}')
    scales = study.get('scales', {})
    runs = []
    for entry in study.get('runs', []):
        unknown = set(entry) - set(RunSpec.__dataclass_fields__)
        if unknown:
            raise KeyError(
                f'{path}: run {entry.get("name")!r} has unknown keys '
                f'{sorted(unknown)}'
            )
        run = RunSpec(**entry)
        if run.scale not in scales:
            raise KeyError(
                f'{path}: run {run.name!r} uses scale {run.scale!r}, '
                f'not one of {sorted(scales)}'
            )
        runs.append(run)
    names = [r.name for r in runs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f'{path}: run names repeat: {duplicates}')
    baselines = study.get('baselines', {})
    unknown = set(baselines) - set(BASELINES)
    if unknown:
        raise KeyError(
            f'{path}: unknown baselines {sorted(unknown)}; known: '
            f'{list(BASELINES)}'
        )
    for name in ('random', 'supervised'):
        value = baselines.get(name)
        # `random` may list several runs: each method's own encoder.
        listed = name == 'random' and isinstance(value, (list, tuple))
        chosen = value if listed else [value]
        if value and any(run not in names for run in chosen):
            raise KeyError(
                f'{path}: baseline {name!r} must name a run (its encoder '
                f'shape and schedule), or for random a list of runs; got '
                f'{value!r}, runs: {names}'
            )
    random = baselines.get('random')
    if isinstance(random, (list, tuple)) and len(set(random)) < len(random):
        raise ValueError(
            f'{path}: baselines.random lists a run twice: {random}; list '
            'each run once'
        )
    if 'config' not in study.get('finetune', {}):
        raise KeyError(f'{path}: study.finetune needs a config')
    return StudySpec(
        name=study.get('name', path),
        scales=scales,
        finetune=study['finetune'],
        probe=study.get('probe', {}),
        runs=runs,
        baselines=baselines,
        path=path,
    )
