# Copyright (c) mmmim contributors. All rights reserved.
"""mmmim/patches.py: each patch on changes mmengine, off leaves it alone.

A fresh interpreter imports mmmim under a given ``MMMIM_NO_PATCHES`` and
reports, per patch, whether mmengine behaves patched; the same probes
run with every patch on, all off, and two off.
"""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from mmmim import patches

from .test_safe_checkpoint import _mmengine_like_checkpoint

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
PROBE = r"""
import json, os, pickle, sys
import torch
import mmmim
from mmmim import patches

patches.apply()  # again: changes and logs nothing
ckpt, path, cfg, port = sys.argv[1:]
seen = {}

def probe(name, fn, off_error):
    try:
        seen[name] = bool(fn())
    except off_error as error:
        seen[name] = False
        print(f'{name} off: {error!r}')

from mmengine.runner.checkpoint import _load_checkpoint
probe('safe_load', lambda: _load_checkpoint(ckpt), pickle.UnpicklingError)

def atomic_put():  # a failed rename must keep the old file
    from mmengine.fileio import get_file_backend
    backend, replace = get_file_backend(path), os.replace
    backend.put(b'old', path)
    os.replace = lambda *a: (_ for _ in ()).throw(OSError('disk gone'))
    try:
        backend.put(b'new', path)
    except OSError:
        pass
    os.replace = replace
    return open(path, 'rb').read() == b'old'
probe('atomic_save', atomic_put, ())

from mmengine.config import Config
probe('config_lookup', lambda: Config.fromfile(cfg), AssertionError)

def cpu_ddp():  # what `--launcher pytorch` does on a machine without GPUs
    from mmengine.dist import init_dist
    from mmengine.model import MMDistributedDataParallel
    os.environ.update(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0',
                      MASTER_ADDR='127.0.0.1', MASTER_PORT=port)
    init_dist('pytorch', backend='nccl')
    return MMDistributedDataParallel(torch.nn.Linear(2, 2), device_ids=[0])
if not torch.cuda.is_available():
    probe('cpu_dist', cpu_ddp, RuntimeError)

def mmpretrain_models():  # transformers (a test requirement) is installed
    import mmpretrain.models  # noqa: F401  (fails unpatched)
    from mmpretrain.registry import MODELS
    return MODELS.get('BlipCaption').__name__ == 'ask_install'
probe('mmpretrain_multimodal', mmpretrain_models, TypeError)
print('RESULT', json.dumps(dict(seen=seen, applied=patches.apply())))
"""


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


def _probe(tmp_path, switch_off):
    ckpt = tmp_path / 'ckpt.pth'
    torch.save(_mmengine_like_checkpoint(), ckpt)
    cfg = tmp_path / 'inherits_mmmim.py'
    cfg.write_text("_base_ = 'mmmim::_base_/default_runtime.py'\n")
    env = {k: v for k, v in os.environ.items() if k != patches.ENV_VAR}
    env.update(PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    if switch_off is not None:
        env[patches.ENV_VAR] = switch_off
    args = [ckpt, tmp_path / 'file.bin', cfg, _free_port()]
    proc = subprocess.run(
        [sys.executable, '-c', PROBE, *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    result = json.loads(log.split('RESULT ')[-1].splitlines()[0])
    return result['seen'], result['applied'], log


@pytest.mark.parametrize(
    'switch_off, off',
    [
        (None, set()),
        ('1', set(patches.PATCHES)),
        ('atomic_save, cpu_dist', {'atomic_save', 'cpu_dist'}),
    ],
)
def test_each_patch_on_and_off(tmp_path, switch_off, off):
    seen, applied, log = _probe(tmp_path, switch_off)
    assert set(seen) == set(patches.PATCHES) - (
        set() if 'cpu_dist' in seen else {'cpu_dist'}  # a GPU machine
    )
    for name, patched in seen.items():
        assert patched == (name not in off), (name, log)
    assert set(applied) == set(patches.PATCHES) - off
    # Announced once per process (apply() ran twice), with the reason and
    # the switch.
    for name in patches.PATCHES:
        library = patches.LIBRARY.get(name, 'mmengine')
        line = f'mmmim patches {library} [{name}]'
        assert log.count(line) == (name not in off), (name, log)
    if off:
        assert log.count('mmmim leaves mmengine/mmpretrain unpatched') == 1
        assert ', '.join(sorted(off)) in log
    if 'safe_load' not in off:
        assert f'Switch off: {patches.ENV_VAR}=safe_load' in log


def test_unknown_patch_name_is_an_error(monkeypatch):
    monkeypatch.setenv(patches.ENV_VAR, 'safe_load,atomic_saves')
    with pytest.raises(ValueError, match="unknown patches \\['atomic_saves'"):
        patches.apply()


@pytest.mark.skipif(
    bool(os.environ.get(patches.ENV_VAR)), reason='patches are switched off'
)
def test_applying_twice_changes_nothing(tmp_path):
    from mmengine.config import config
    from mmengine.dist import utils
    from mmengine.fileio import get_file_backend
    from mmengine.hub import hub
    from mmengine.model import MMDistributedDataParallel
    from mmengine.runner.checkpoint import CheckpointLoader

    def state():
        return (
            config.get_installed_path,
            hub.get_installed_path,
            utils._init_dist_pytorch,
            MMDistributedDataParallel.__init__,
            dict(CheckpointLoader._schemes),
            type(get_file_backend(str(tmp_path))),
        )

    before = state()
    for patch in patches.PATCHES.values():
        patch()  # each patch itself is idempotent, not only apply()
    assert patches.apply() == tuple(patches.PATCHES)
    assert state() == before
    # Wrapped once: the original under the wrapper is mmengine's.
    assert not hasattr(config.get_installed_path.__wrapped__, '_mmmim_patch')
