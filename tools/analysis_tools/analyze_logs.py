# Copyright (c) mmmim contributors. All rights reserved.
"""Plot curves and timing from mmengine's JSON logs.

mmengine writes one JSON object per line to
``{work_dir}/{timestamp}/vis_data/{timestamp}.json``: training lines hold
the logged values (``loss``, ``lr``, ``time``, ...) with the global
iteration as ``step``; validation lines hold the metrics.

Examples::

    python tools/analysis_tools/analyze_logs.py plot_curve \\
        work_dirs/demo/*/vis_data/2*.json --keys loss --out loss.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json
"""

import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

Series = Tuple[np.ndarray, np.ndarray]


def load_json_log(path: str) -> List[dict]:
    """Read a JSON-lines log.

    Args:
        path (str): The ``{timestamp}.json`` file.

    Returns:
        List[dict]: One dict per line; blank lines are skipped.

    Raises:
        ValueError: If a line is not JSON (naming the line).
    """
    records = []
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(
                    f'{path}:{number} is not a JSON line ({e}); pass the '
                    'vis_data/{timestamp}.json file of an mmengine run'
                ) from e
    return records


def extract_series(records: Sequence[dict], key: str) -> Series:
    """The values of ``key`` against the global iteration.

    Args:
        records (Sequence[dict]): From :func:`load_json_log`.
        key (str): A logged key such as ``'loss'``.

    Returns:
        tuple: ``(steps, values)`` arrays.

    Raises:
        KeyError: If no record has ``key`` (listing the available keys).
    """
    steps, values = [], []
    for record in records:
        if key in record:
            steps.append(record.get('step', record.get('iter', len(steps))))
            values.append(float(record[key]))
    if not values:
        available = sorted({k for record in records for k in record})
        raise KeyError(f'no {key!r} in the log; available keys: {available}')
    return np.asarray(steps), np.asarray(values)


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` values (1 = unchanged)."""
    if window <= 1 or len(values) < 2:
        return values
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    starts = np.arange(1, len(values) + 1) - counts
    return (cumsum[1:] - cumsum[starts]) / counts


def plot_curve(
    logs: Dict[str, List[dict]],
    keys: Sequence[str],
    out_file: str,
    title: Optional[str] = None,
    legend: Optional[Sequence[str]] = None,
    window: int = 1,
) -> Dict[str, Series]:
    """Plot ``keys`` of every log on one axis and save a PNG.

    Args:
        logs (Dict[str, List[dict]]): Records per log file.
        keys (Sequence[str]): Logged keys to plot.
        out_file (str): The output image.
        title (str, optional): The figure title. Defaults to None.
        legend (Sequence[str], optional): One label per (log, key) line.
            Defaults to None (``{log} {key}``).
        window (int): Moving-average window. Defaults to 1.

    Returns:
        Dict[str, Series]: The plotted (unsmoothed) series by label.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    plotted = {}
    labels = iter(legend) if legend else None
    for name, records in logs.items():
        for key in keys:
            steps, values = extract_series(records, key)
            label = next(labels) if labels else f'{name} {key}'
            ax.plot(steps, smooth(values, window), label=label, linewidth=1)
            plotted[label] = (steps, values)
    ax.set_xlabel('iteration')
    ax.set_ylabel(', '.join(keys))
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(out_file) or '.', exist_ok=True)
    fig.savefig(out_file)
    return plotted


def cal_train_time(records: Sequence[dict]) -> Dict[str, float]:
    """Seconds per iteration from the logged ``time`` values.

    Args:
        records (Sequence[dict]): From :func:`load_json_log`.

    Returns:
        Dict[str, float]: ``mean``, ``std``, ``min`` and ``max`` of the
        logged (window-averaged) iteration times.
    """
    _, times = extract_series(records, 'time')
    return dict(
        mean=float(times.mean()),
        std=float(times.std()),
        min=float(times.min()),
        max=float(times.max()),
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Analyse JSON logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot logged values')
    plot.add_argument('json_logs', nargs='+', help='vis_data JSON logs')
    plot.add_argument('--keys', nargs='+', default=['loss'])
    plot.add_argument('--out', required=True, help='output image file')
    plot.add_argument('--title', default=None)
    plot.add_argument('--legend', nargs='+', default=None)
    plot.add_argument(
        '--window-size',
        type=int,
        default=1,
        help='moving-average window over logged points',
    )
    timing = sub.add_parser('cal_train_time', help='time per iteration')
    timing.add_argument('json_logs', nargs='+', help='vis_data JSON logs')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    logs = {osp.basename(path): load_json_log(path) for path in args.json_logs}
    if args.task == 'cal_train_time':
        for name, records in logs.items():
            stats = cal_train_time(records)
            print(
                f'{name}: {stats["mean"]:.4f} s/iter (std '
                f'{stats["std"]:.4f}, min {stats["min"]:.4f}, max '
                f'{stats["max"]:.4f})'
            )
        return
    if args.legend and len(args.legend) != len(logs) * len(args.keys):
        raise ValueError(
            f'--legend needs {len(logs) * len(args.keys)} labels '
            '(one per log and key)'
        )
    plotted = plot_curve(
        logs, args.keys, args.out, args.title, args.legend, args.window_size
    )
    for label, (steps, values) in plotted.items():
        print(
            f'{label}: {values[0]:.4f} at iter {steps[0]} -> '
            f'{values[-1]:.4f} at iter {steps[-1]} (min {values.min():.4f})'
        )
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
