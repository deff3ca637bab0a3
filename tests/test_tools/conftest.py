# Copyright (c) mmmim contributors. All rights reserved.
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'tests' / 'data' / 'configs' / 'toy_train.py'


def run_tool(
    args: list,
    cwd: Path = REPO_ROOT,
    timeout: int = 300,
    env_extra: dict = None,
    expect_rc: int = 0,
) -> subprocess.CompletedProcess:
    """Run a repository tool in a subprocess with the repo on PYTHONPATH."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO_ROOT), env.get('PYTHONPATH', '')]
    )
    env.setdefault('OMP_NUM_THREADS', '1')
    # Shell tools call `python`: make it this interpreter (the venv's).
    env['PATH'] = os.pathsep.join(
        [os.path.dirname(sys.executable), env.get('PATH', '')]
    )
    env.update(env_extra or {})
    cmd = args if args[0] in ('bash',) else [sys.executable, *args]
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != expect_rc:
        raise AssertionError(
            f'{cmd} failed ({proc.returncode}):\n'
            f'{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
        )
    return proc


@pytest.fixture
def toy_config() -> Path:
    return TOY_CONFIG
