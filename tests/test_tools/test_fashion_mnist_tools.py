# Copyright (c) mmmim contributors. All rights reserved.
"""tools/misc/prepare_fashion_mnist.sh (offline paths) and the pure parts of
tools/analysis_tools/fashion_mnist_eval.py."""

import gzip
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'misc' / 'prepare_fashion_mnist.sh'
SYSTEM_DIR = Path('/usr/share/datasets/fashion-mnist')
FILES = (
    'train-images-idx3-ubyte.gz',
    'train-labels-idx1-ubyte.gz',
    't10k-images-idx3-ubyte.gz',
    't10k-labels-idx1-ubyte.gz',
)


def _system_has_it() -> bool:
    return all((SYSTEM_DIR / f).is_file() for f in FILES)


def _run(args, path=None):
    env = dict(os.environ)
    if path is not None:
        env['PATH'] = path
    return subprocess.run(
        [shutil.which('bash'), str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.skipif(_system_has_it(), reason='the package is installed')
def test_prepare_uses_the_cache_without_network(tmp_path):
    folder = tmp_path / 'cache' / str(SYSTEM_DIR).lstrip('/')
    folder.mkdir(parents=True)
    for name in FILES:
        (folder / name).write_bytes(gzip.compress(b'\x00\x00\x08\x01'))
    # A complete cached copy is used as it is: nothing is downloaded.
    proc = _run([str(tmp_path / 'cache')])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(folder)
    assert 'found Fashion-MNIST' in proc.stderr


@pytest.mark.skipif(_system_has_it(), reason='the package is installed')
def test_prepare_fails_clearly_without_apt(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for tool in ('mktemp', 'rm', 'dirname', 'gzip', 'id', 'find', 'head'):
        src = subprocess.run(
            ['bash', '-c', f'command -v {tool}'],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if src:
            (bin_dir / tool).symlink_to(src)
    proc = _run([str(tmp_path / 'cache')], path=str(bin_dir))
    assert proc.returncode == 1
    assert 'apt-get is not available' in proc.stderr
    assert 'apt-get install dataset-fashion-mnist' in proc.stderr
    assert proc.stdout == ''


@pytest.fixture(scope='module')
def driver():
    path = REPO / 'tools' / 'analysis_tools' / 'fashion_mnist_eval.py'
    spec = importlib.util.spec_from_file_location('fashion_mnist_eval', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_knn_known_answer(driver):
    # Two training clusters on the unit circle; the weighted vote of the
    # k = 3 nearest (cosine) decides.
    train_x = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]]), dim=1
    )
    train_y = torch.tensor([0, 0, 1, 1])
    test_x = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.05], [0.05, 1.0], [0.8, 0.2]]), dim=1
    )
    test_y = torch.tensor([0, 1, 1])  # the last one is mislabelled
    top1 = driver.knn_top1((train_x, train_y), (test_x, test_y), 3, 0.07)
    assert top1 == pytest.approx(200 / 3)


def test_set_epochs_stretches_the_schedule(driver):
    from mmengine.config import Config

    cfg = Config.fromfile(str(REPO / driver.FINETUNE_CFG))
    driver.set_epochs(cfg, 7)
    assert cfg.train_cfg.max_epochs == 7 and cfg.train_cfg.val_interval == 7
    assert cfg.param_scheduler[0].end == 1  # the warm-up is kept
    assert cfg.param_scheduler[-1].end == 7
    assert cfg.default_hooks.checkpoint.interval == 7


def test_table(driver):
    row = dict(
        finetune=dict(top1=90.0),
        linear=dict(top1=80.5),
        knn=dict(top1=70.25),
    )
    results = dict(pretrain=dict(epochs=4), knn_k=20, mae=row, random=row)
    lines = driver.table(results).splitlines()
    assert lines[0].startswith('| encoder | fine-tune top-1')
    assert lines[2] == '| MAE pre-trained (4 ep) | 90.00 | 80.50 | 70.25 |'
    assert lines[3].startswith('| random init |')
