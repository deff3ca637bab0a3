# Copyright (c) mmmim contributors. All rights reserved.
"""A study's results table (CSV and Markdown) and its figures (PNG).

The rows are read from the stage files the runner wrote, so a report can
be made at any point of a study: missing numbers are empty cells.
"""

import csv
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional

from .spec import StudySpec, baseline_runs

__all__ = ['collect_rows', 'write_table', 'write_figures', 'COLUMNS']

COLUMNS = (
    'run',
    'groups',
    'source',
    'pretrain_epochs',
    'pretrain_minutes',
    'sec_per_iter',
    'final_loss',
    'knn',
    'linear',
    'finetune',
    'finetune_epochs',
    'finetune_minutes',
)
_BASELINE_LABELS = {
    'baseline_pixels': 'raw pixels',
    'baseline_random': 'random init',
    'baseline_supervised': 'supervised from scratch',
}


def _load(work_dir: str, run: str, stage: str) -> Optional[dict]:
    path = osp.join(work_dir, run, f'{stage}.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def collect_rows(study: StudySpec, work_dir: str) -> List[Dict]:
    """One row per baseline and per run, from the finished stages."""
    rows = []
    names = list(baseline_runs(study.baselines))
    specs = {r.name: r for r in study.runs}
    for name in names + [r.name for r in study.runs]:
        row = dict.fromkeys(COLUMNS)
        row['run'] = name
        spec = specs.get(name)
        if spec is not None:
            row.update(
                groups=';'.join(f'{g}={x}' for g, x in spec.groups.items()),
                source=spec.config,
            )
            row['_groups'] = dict(spec.groups)
        pre = _load(work_dir, name, 'pretrain')
        if pre:
            row.update(
                pretrain_epochs=pre['epochs'],
                pretrain_minutes=round(pre['minutes'], 2),
                sec_per_iter=round(pre['sec_per_iter'], 4),
                final_loss=round(pre['final_loss'], 4),
            )
        probe = _load(work_dir, name, 'probe')
        if probe:
            row.update(
                knn=round(probe['knn'], 2), linear=round(probe['linear'], 2)
            )
        fine = _load(work_dir, name, 'finetune')
        if fine:
            row.update(
                finetune=round(fine['top1'], 2),
                finetune_epochs=fine['epochs'],
                finetune_minutes=round(fine['minutes'], 2),
            )
        rows.append(row)
    return rows


def _label(run: str) -> str:
    if run.startswith('baseline_random_'):
        return f'random init ({run[len("baseline_random_") :]})'
    return _BASELINE_LABELS.get(run, run)


def _cell(value) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:.2f}' if abs(value) >= 0.1 else f'{value:.4f}'
    return str(value)


def write_table(rows: List[Dict], out_dir: str) -> Dict[str, str]:
    """Write ``results.csv`` and ``results.md``; return their paths."""
    os.makedirs(out_dir, exist_ok=True)
    csv_path = osp.join(out_dir, 'results.csv')
    with open(csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)
    headers = (
        'run',
        'figures',
        'pre-train ep',
        'pre-train min',
        's/iter',
        'kNN',
        'linear',
        'fine-tune',
        'fine-tune ep',
        'fine-tune min',
    )
    keys = (
        'run',
        'groups',
        'pretrain_epochs',
        'pretrain_minutes',
        'sec_per_iter',
        'knn',
        'linear',
        'finetune',
        'finetune_epochs',
        'finetune_minutes',
    )
    lines = [
        '| ' + ' | '.join(headers) + ' |',
        '|' + '---|' * len(headers),
    ]
    for row in rows:
        cells = dict(row, run=_label(row['run']))
        lines.append('| ' + ' | '.join(_cell(cells[k]) for k in keys) + ' |')
    md_path = osp.join(out_dir, 'results.md')
    with open(md_path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return dict(csv=csv_path, markdown=md_path)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def write_figures(rows: List[Dict], out_dir: str) -> List[str]:
    """One PNG per figure group: accuracy (fine-tune, linear probe, kNN)
    and seconds per pre-training step against the group's ``x``; the
    raw-pixel read-outs as dashed lines, and where the study measures a
    run's own untrained encoder (``baseline_random_<run>``), its read-outs
    as hollow grey markers."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    pixels = next((r for r in rows if r['run'] == 'baseline_pixels'), None)
    own_random = {
        r['run'][len('baseline_random_') :]: r
        for r in rows
        if r['run'].startswith('baseline_random_')
    }
    groups: Dict[str, List[Dict]] = {}
    for row in rows:
        for group, x in row.get('_groups', {}).items():
            groups.setdefault(group, []).append(dict(row, x=x))
    paths = []
    for group, members in groups.items():
        numeric = all(_is_number(r['x']) for r in members)
        if numeric:
            members = sorted(members, key=lambda r: r['x'])
        xs = (
            [r['x'] for r in members] if numeric else list(range(len(members)))
        )
        fig, (acc_ax, time_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
        for key, label, marker in (
            ('finetune', 'fine-tune', 'o'),
            ('linear', 'linear probe', 's'),
            ('knn', 'kNN', '^'),
        ):
            pts = [
                (x, r[key])
                for x, r in zip(xs, members)
                if r[key] is not None and math.isfinite(r[key])
            ]
            if pts:
                acc_ax.plot(*zip(*pts), marker=marker, label=label)
            # Each run's own untrained encoder (a study that lists one
            # per method): hollow markers under the run.
            untrained = [
                (x, own_random[r['run']][key])
                for x, r in zip(xs, members)
                if own_random.get(r['run'], {}).get(key) is not None
            ]
            if untrained:
                acc_ax.plot(
                    *zip(*untrained),
                    linestyle='none',
                    marker=marker,
                    markerfacecolor='none',
                    color='grey',
                    label=f'{label}, own random init',
                )
        if pixels:
            for key, label in (
                ('linear', 'pixels, linear'),
                ('knn', 'pixels, kNN'),
            ):
                if pixels[key] is not None:
                    acc_ax.axhline(
                        pixels[key],
                        linestyle='--',
                        linewidth=0.8,
                        color='grey' if key == 'knn' else 'black',
                        label=label,
                    )
        times = [
            (x, r['sec_per_iter'])
            for x, r in zip(xs, members)
            if r['sec_per_iter'] is not None
        ]
        if times:
            time_ax.bar(
                [t[0] for t in times],
                [t[1] for t in times],
                width=0.6 if not numeric else _bar_width(xs),
            )
        for ax in (acc_ax, time_ax):
            ax.set_xlabel(group.replace('_', ' '))
            if not numeric:
                ax.set_xticks(xs)
                ax.set_xticklabels([str(r['x']) for r in members])
        acc_ax.set_ylabel('top-1 (%)')
        if acc_ax.get_legend_handles_labels()[0]:  # nothing finished yet
            acc_ax.legend(fontsize=7)
        time_ax.set_ylabel('s per pre-training step')
        fig.suptitle(group.replace('_', ' '))
        fig.tight_layout()
        path = osp.join(out_dir, f'{group}.png')
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _bar_width(xs: List[float]) -> float:
    gaps = [b - a for a, b in zip(sorted(xs), sorted(xs)[1:]) if b > a]
    return 0.6 * min(gaps) if gaps else 0.6
