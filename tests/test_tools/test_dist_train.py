# Copyright (c) mmmim contributors. All rights reserved.
"""tools/dist_train.sh: 2 processes on CPU (gloo) stay in sync."""

import socket

import torch

from .conftest import run_tool


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_dist_train_two_processes_identical_weights(tmp_path, toy_config):
    work_dir = tmp_path / 'dist'
    proc = run_tool(
        [
            'bash',
            'tools/dist_train.sh',
            str(toy_config),
            '2',
            '--work-dir',
            str(work_dir),
        ],
        env_extra=dict(PORT=str(_free_port())),
    )
    assert (
        'Distributed launcher: pytorch' in proc.stdout + proc.stderr
        or 'World size: 2' in proc.stdout + proc.stderr
    )
    rank0 = torch.load(work_dir / 'rank0_weights.pth', weights_only=True)
    rank1 = torch.load(work_dir / 'rank1_weights.pth', weights_only=True)
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    assert (work_dir / 'iter_6.pth').is_file()
