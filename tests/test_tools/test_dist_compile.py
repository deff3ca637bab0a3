# Copyright (c) mmmim contributors. All rights reserved.
"""``compile`` in a 2-process run: tools/train.py picks
``MIMDistributedDataParallel``, and the per-rank losses are those of an
eager run. The guard hook and parameter-wise weight decay are on, as in
the real recipes (with them mmengine's own DDP step cannot be compiled)."""

import json
import socket

import torch

from .conftest import REPO_ROOT, run_tool

CONFIG = REPO_ROOT / 'tests' / 'data' / 'configs' / 'mae_tiny_ddp.py'
RECIPE = [
    'train_dataloader.batch_size=4',
    'default_hooks.non_finite_guard.type=NonFiniteGuardHook',
    'optim_wrapper.optimizer.weight_decay=0.05',
    'optim_wrapper.paramwise_cfg.norm_decay_mult=0.0',
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _train(work_dir, *extra) -> list:
    proc = run_tool(
        [
            'bash',
            'tools/dist_train.sh',
            str(CONFIG),
            '2',
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            *RECIPE,
            *extra,
        ],
        env_extra=dict(PORT=str(_free_port())),
    )
    losses = [
        json.loads((work_dir / f'rank{rank}_losses.json').read_text())
        for rank in (0, 1)
    ]
    return torch.tensor(losses), proc.stdout + proc.stderr


def test_compiled_ddp_run_matches_eager(tmp_path):
    eager, _ = _train(tmp_path / 'eager')
    # aot_eager: dynamo's graph capture and the compiled backward, which
    # is what mmmim's step layout decides; inductor is covered by
    # test_train_compile.py.
    compiled, log = _train(tmp_path / 'compiled', 'compile.backend=aot_eager')
    assert 'MIMDistributedDataParallel' in log
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=1e-6)
    assert not torch.equal(eager[0], eager[1])  # different samples
