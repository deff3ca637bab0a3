# Copyright (c) mmmim contributors. All rights reserved.
"""The DDP wrapper comes from ``configs/_base_/default_runtime.py``.

Two processes on CPU (gloo) train the tiny MAE of ``mae_tiny_ddp.py`` on
mmmim's runtime defaults (so the non-finite guard is on) with
parameter-wise weight decay, as the real recipes do; with both, mmengine's
own DDP step cannot be compiled. Checked: without ``compile``
``MIMDistributedDataParallel`` gives mmengine's losses; with ``compile``
those of an eager run; and ``Runner.from_cfg(cfg).train()`` wraps and
trains exactly like ``tools/train.py``.
"""

import json
import os
import socket

import pytest
import torch
from mmengine.config import Config

from .conftest import REPO_ROOT, run_tool

RUNTIME = REPO_ROOT / 'configs' / '_base_' / 'default_runtime.py'
TINY = REPO_ROOT / 'tests' / 'data' / 'configs' / 'mae_tiny_ddp.py'
RECIPE = {
    'train_dataloader.batch_size': 4,
    'optim_wrapper.optimizer.weight_decay': 0.05,
    'optim_wrapper.paramwise_cfg.norm_decay_mult': 0.0,
    'custom_hooks': [
        dict(type='DumpLossesHook'),
        dict(type='RecordWrapperHook'),
    ],
}
# aot_eager: dynamo's graph capture and the compiled backward, which is
# what mmmim's step layout decides; inductor is covered by
# test_train_compile.py.
COMPILE = dict(compile=dict(backend='aot_eager'))
RECORDER = """
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module(force=True)
class RecordWrapperHook(Hook):
    def before_train(self, runner):
        path = f'{runner.work_dir}/rank{runner.rank}_wrapper.txt'
        with open(path, 'w') as f:
            f.write(type(runner.model).__name__)
"""
# Nothing imported, nothing chosen here: the config carries it all.
FROM_CFG = """
import sys
from mmengine.config import Config
from mmengine.runner import Runner

cfg = Config.fromfile(sys.argv[1])
cfg.merge_from_dict(dict(launcher='pytorch', work_dir=sys.argv[2]))
Runner.from_cfg(cfg).train()
"""


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


@pytest.fixture(scope='module')
def train(tmp_path_factory):
    """``train(config, *options, from_cfg=False)`` runs 2 processes (each
    distinct run once) -> per-rank losses, wrapper class name, log."""
    folder = tmp_path_factory.mktemp('dist_compile')
    (folder / 'record_wrapper.py').write_text(RECORDER)
    (folder / 'from_cfg.py').write_text(FROM_CFG)
    # mmmim's runtime defaults under the tiny job (both leave `_base_`).
    cfg = Config.fromfile(RUNTIME, import_custom_modules=False)
    cfg.merge_from_dict(
        Config.fromfile(TINY, import_custom_modules=False).to_dict()
    )
    cfg.merge_from_dict(RECIPE)
    cfg.custom_imports.imports.append('record_wrapper')
    cfg.dump(folder / 'eager.py')
    cfg.merge_from_dict(COMPILE)
    cfg.dump(folder / 'compiled.py')
    env = dict(
        PORT=_free_port(),
        PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(folder)]),
    )
    done = {}

    def run(config, *options, from_cfg=False):
        key = (config, options, from_cfg)
        if key not in done:
            work_dir = folder / f'run{len(done)}'
            if from_cfg:
                launch = [
                    '-m',
                    'torch.distributed.run',
                    '--nproc_per_node=2',
                    f'--master_port={_free_port()}',
                    str(folder / 'from_cfg.py'),
                    str(folder / config),
                    str(work_dir),
                ]
            else:
                launch = ['bash', 'tools/dist_train.sh', str(folder / config)]
                launch += ['2', '--work-dir', str(work_dir), *options]
            proc = run_tool(launch, env_extra=env)
            losses = torch.tensor(
                [
                    json.loads((work_dir / f'rank{r}_losses.json').read_text())
                    for r in (0, 1)
                ]
            )
            wrappers = {
                (work_dir / f'rank{r}_wrapper.txt').read_text() for r in (0, 1)
            }
            assert len(wrappers) == 1, wrappers
            done[key] = losses, wrappers.pop(), proc.stdout + proc.stderr
        return done[key]

    return run


def test_mim_ddp_without_compile_is_mmengine_ddp(train):
    mim, mim_wrapper, log = train('eager.py')
    mmengine, mmengine_wrapper, _ = train(
        'eager.py',
        '--cfg-options',
        'model_wrapper_cfg.type=MMDistributedDataParallel',
    )
    assert mim_wrapper == 'MIMDistributedDataParallel'
    assert mmengine_wrapper == 'MMDistributedDataParallel'
    torch.testing.assert_close(mim, mmengine, rtol=0, atol=0)
    assert not torch.equal(mim[0], mim[1])  # different samples per rank
    assert len(set(mim[0].tolist())) == len(mim[0])  # the losses move
    assert 'Model has been "compiled"' not in log


def test_compiled_ddp_run_matches_eager(train):
    eager, *_ = train('eager.py')
    compiled, wrapper, log = train('compiled.py')
    assert wrapper == 'MIMDistributedDataParallel'
    assert 'Model has been "compiled"' in log
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=1e-6)


def test_runner_from_cfg_trains_like_tools_train(train):
    tools, tools_wrapper, _ = train('compiled.py')
    runner, runner_wrapper, log = train('compiled.py', from_cfg=True)
    assert 'Model has been "compiled"' in log
    assert runner_wrapper == tools_wrapper == 'MIMDistributedDataParallel'
    torch.testing.assert_close(runner, tools, rtol=0, atol=0)
