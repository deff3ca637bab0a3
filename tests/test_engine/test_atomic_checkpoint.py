# Copyright (c) mmmim contributors. All rights reserved.
"""Crash-safe checkpoint writing."""

import os

import pytest
import torch
from mmengine.fileio import get_file_backend

import mmmim  # noqa: F401  (installs the atomic backend)
from mmmim.utils import safe_torch_load
from mmmim.utils.atomic_io import AtomicLocalBackend, atomic_write_bytes

from ..test_tools.conftest import TOY_CONFIG, run_tool


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / 'ckpt.pth'
    atomic_write_bytes(b'old', path)

    def crash(src, dst):
        raise OSError('disk gone')

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(OSError):
        atomic_write_bytes(b'new', path)
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['ckpt.pth']  # no partial file left


def test_local_paths_use_the_atomic_backend(tmp_path):
    backend = get_file_backend(str(tmp_path / 'x.pth'))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put(b'abc', tmp_path / 'x.pth')
    assert (tmp_path / 'x.pth').read_bytes() == b'abc'


def _kill_while_saving_iter_3(work_dir, hook_type):
    run_tool(
        [
            'tools/train.py',
            str(TOY_CONFIG),
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            f'default_hooks.checkpoint.type={hook_type}',
            'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=1',
            'custom_hooks.2.kill_iter=3',
            'custom_hooks.2.when=saving',
        ],
        expect_rc=-9,
    )


def test_kill_while_saving_leaves_the_previous_checkpoint(tmp_path):
    _kill_while_saving_iter_3(tmp_path, 'AtomicCheckpointHook')
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == [
        'iter_2.pth'
    ]
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_2.pth')
    ckpt = safe_torch_load(str(tmp_path / 'iter_2.pth'))
    assert ckpt['meta']['iter'] == 2
    # ... and the run resumes from it to the end.
    proc = run_tool(
        [
            'tools/train.py',
            str(TOY_CONFIG),
            '--work-dir',
            str(tmp_path),
            '--resume',
            '--cfg-options',
            'default_hooks.checkpoint.type=AtomicCheckpointHook',
            'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=1',
        ]
    )
    assert 'resumed epoch: 0, iter: 2' in proc.stdout + proc.stderr
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == [
        'iter_6.pth'
    ]
    assert torch.isfinite(
        safe_torch_load(str(tmp_path / 'iter_6.pth'))['state_dict'][
            'linear.weight'
        ]
    ).all()


def test_mmengine_hook_loses_the_checkpoint_in_the_same_situation(tmp_path):
    """Why the hook exists: mmengine deletes the old file first."""
    _kill_while_saving_iter_3(tmp_path, 'CheckpointHook')
    assert not list(tmp_path.glob('iter_*.pth'))
