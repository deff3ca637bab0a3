# Copyright (c) mmmim contributors. All rights reserved.
"""tools/train.py with ``compile=True`` logs the losses of an eager run."""

import json
import shutil

import pytest

from .conftest import REPO_ROOT, run_tool

DEMO_CONFIG = (
    REPO_ROOT / 'configs' / 'mae' / 'mae_vit-tiny-p8_1xb32-coslr-demo.py'
)
ITERS = 4
# The demo recipe with one encoder and one decoder block (inductor's
# compile time grows with the number of kernels), a few iterations, a log
# line per iteration and no images or checkpoints along the way.
SHRINK = [
    f'train_cfg.max_iters={ITERS}',
    'model.backbone.arch.num_layers=1',
    'model.neck.decoder_num_layers=1',
    'train_dataloader.batch_size=4',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'param_scheduler.0.end=2',
    'param_scheduler.1.begin=2',
    f'param_scheduler.1.end={ITERS}',
    'default_hooks.logger.interval=1',
    'log_processor.window_size=1',
    'default_hooks.checkpoint.interval=100',
    'custom_hooks=[]',
]


def _losses(work_dir) -> list:
    (scalars,) = work_dir.glob('*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    return [r['loss'] for r in records if 'loss' in r]


def _train(work_dir, data_root, *extra) -> list:
    """Train; inductor writes its generated kernels under work_dir."""
    run_tool(
        [
            'tools/train.py',
            str(DEMO_CONFIG),
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            f'train_dataloader.dataset.data_root={data_root}',
            *SHRINK,
            *extra,
        ],
        timeout=600,
        env_extra={
            'TORCHINDUCTOR_COMPILE_THREADS': '1',
            'TORCHINDUCTOR_CACHE_DIR': str(work_dir / 'inductor'),
        },
    )
    return _losses(work_dir)


@pytest.mark.skipif(
    shutil.which('g++') is None and shutil.which('c++') is None,
    reason="inductor (torch.compile's default backend) needs a C++ compiler "
    'on a CPU',
)
def test_compile_gives_the_losses_of_eager(tmp_path, demo_data_root):
    eager = _train(tmp_path / 'eager', demo_data_root)
    compiled = _train(tmp_path / 'compiled', demo_data_root, 'compile=True')
    assert len(eager) == len(compiled) == ITERS
    # Same masks (drawn eagerly) and the same math; only the order of
    # floating-point operations in inductor's kernels differs.
    assert compiled == pytest.approx(eager, rel=1e-4, abs=1e-6)
    # The losses move: a vacuous comparison would not catch anything.
    assert len(set(eager)) == ITERS
    # And compilation really happened (only) in the compiled run: inductor
    # generated kernels for it.
    kernels = lambda run: list((tmp_path / run / 'inductor').rglob('*.py'))  # noqa: E731
    assert kernels('compiled') and not kernels('eager')
