# Copyright (c) mmmim contributors. All rights reserved.
"""tools/analysis_tools/analyze_logs.py on real and written JSON logs."""

import importlib.util
import json

import numpy as np
import pytest
from PIL import Image

from ..installed import require
from .conftest import REPO_ROOT, run_tool

TOOL = 'tools/analysis_tools/analyze_logs.py'


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'analyze_logs', REPO_ROOT / TOOL
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_log(path, losses, with_val=True):
    """An mmengine-style vis_data JSON log (one object per line)."""
    lines = []
    for i, loss in enumerate(losses, 1):
        lines.append(
            dict(
                lr=1e-3,
                data_time=0.01,
                loss=loss,
                time=0.1 * i,
                iter=i * 10,
                memory=0,
                step=i * 10,
            )
        )
    if with_val:
        lines.append(dict(accuracy=12.5, data_time=0.0, time=0.2, step=30))
    path.write_text('\n'.join(json.dumps(line) for line in lines) + '\n\n')
    return path


def test_series_skips_lines_without_the_key(tmp_path):
    tool = load_tool()
    log = write_log(tmp_path / 'a.json', [1.0, 0.5, 0.25])
    records = tool.load_json_log(str(log))
    assert len(records) == 4
    steps, values = tool.extract_series(records, 'loss')
    assert steps.tolist() == [10, 20, 30]
    assert values.tolist() == [1.0, 0.5, 0.25]
    with pytest.raises(KeyError, match="available keys: .*'loss'"):
        tool.extract_series(records, 'los')
    stats = tool.cal_train_time(records)
    assert stats['mean'] == pytest.approx((0.1 + 0.2 + 0.3 + 0.2) / 4)


def test_bad_line_names_its_number(tmp_path):
    tool = load_tool()
    log = tmp_path / 'bad.json'
    log.write_text('{"loss": 1.0, "step": 1}\n2024/01/01 - mmengine - INFO\n')
    with pytest.raises(ValueError, match='bad.json:2'):
        tool.load_json_log(str(log))


def test_smoothing_is_a_trailing_mean():
    tool = load_tool()
    values = np.array([4.0, 2.0, 6.0, 0.0])
    assert tool.smooth(values, 1).tolist() == values.tolist()
    assert tool.smooth(values, 2).tolist() == [4.0, 3.0, 4.0, 3.0]
    assert tool.smooth(values, 10).tolist() == [4.0, 3.0, 4.0, 3.0]


def test_plot_curve_cli(tmp_path):
    a = write_log(tmp_path / 'a.json', [2.0, 1.0, 0.5])
    b = write_log(tmp_path / 'b.json', [3.0, 2.5, 2.0], with_val=False)
    out = tmp_path / 'plots' / 'loss.png'
    proc = run_tool(
        [TOOL, 'plot_curve', str(a), str(b), '--keys', 'loss', 'lr']
        + ['--out', str(out), '--title', 'demo']
    )
    assert 'a.json loss: 2.0000 at iter 10 -> 0.5000 at iter 30' in proc.stdout
    assert 'b.json lr: 0.0010 at iter 10' in proc.stdout
    with Image.open(out) as img:
        assert img.size == (840, 480)
        assert np.asarray(img.convert('L')).std() > 5
    proc = run_tool([TOOL, 'cal_train_time', str(a)])
    assert 'a.json: 0.2000 s/iter' in proc.stdout


def test_reads_a_real_training_log(tmp_path, toy_config):
    """The log that tools/train.py writes (mmengine's vis_data JSON)."""
    require('mmcv')  # the runner imports mmmim.datasets
    work_dir = tmp_path / 'run'
    run_tool(['tools/train.py', str(toy_config), '--work-dir', str(work_dir)])
    (log,) = work_dir.glob('*/vis_data/[0-9]*.json')
    out = tmp_path / 'loss.png'
    proc = run_tool(
        [TOOL, 'plot_curve', str(log), '--keys', 'loss', '--out', str(out)]
    )
    # The toy job logs every iteration for 6 iterations.
    assert 'at iter 1 ->' in proc.stdout and 'at iter 6 (min' in proc.stdout
    assert out.read_bytes()[:4] == b'\x89PNG'
