# Copyright (c) mmmim contributors. All rights reserved.
"""tools/train.py: training, checkpoints, --resume under torch >= 2.6."""

import torch

from mmmim.utils import safe_torch_load

from .conftest import run_tool


def _final_weights(work_dir) -> dict:
    return torch.load(work_dir / 'rank0_weights.pth', weights_only=True)


def test_train_writes_checkpoints(tmp_path, toy_config):
    work_dir = tmp_path / 'run'
    proc = run_tool(
        ['tools/train.py', str(toy_config), '--work-dir', str(work_dir)]
    )
    assert (work_dir / 'iter_3.pth').is_file()
    assert (work_dir / 'iter_6.pth').is_file()
    assert 'Iter(train) [6/6]' in proc.stdout + proc.stderr
    ckpt = safe_torch_load(str(work_dir / 'iter_6.pth'))
    assert ckpt['meta']['iter'] == 6
    # The checkpoint holds the final weights of the run.
    final = _final_weights(work_dir)
    for key, value in final.items():
        assert torch.equal(ckpt['state_dict'][key], value)


def test_resume_matches_uninterrupted_run(tmp_path, toy_config):
    full_dir = tmp_path / 'full'
    run_tool(['tools/train.py', str(toy_config), '--work-dir', str(full_dir)])

    # Stop after 3 iterations, then resume the same schedule to 6.
    part_dir = tmp_path / 'part'
    run_tool(
        [
            'tools/train.py',
            str(toy_config),
            '--work-dir',
            str(part_dir),
            '--cfg-options',
            'train_cfg.max_iters=3',
        ]
    )
    assert (part_dir / 'iter_3.pth').is_file()
    proc = run_tool(
        [
            'tools/train.py',
            str(toy_config),
            '--work-dir',
            str(part_dir),
            '--resume',
        ]
    )
    assert 'resumed' in (proc.stdout + proc.stderr).lower()

    full, resumed = _final_weights(full_dir), _final_weights(part_dir)
    assert full.keys() == resumed.keys()
    for key in full:
        torch.testing.assert_close(resumed[key], full[key], rtol=0, atol=0)
    # The weights did change during training (the comparison is not vacuous).
    first = safe_torch_load(str(part_dir / 'iter_3.pth'))['state_dict']
    assert not torch.equal(first['linear.weight'], full['linear.weight'])


def test_resume_from_explicit_checkpoint(tmp_path, toy_config):
    work_dir = tmp_path / 'run'
    run_tool(['tools/train.py', str(toy_config), '--work-dir', str(work_dir)])
    ckpt = work_dir / 'iter_3.pth'
    proc = run_tool(
        [
            'tools/train.py',
            str(toy_config),
            '--work-dir',
            str(tmp_path / 'again'),
            '--resume',
            str(ckpt),
        ]
    )
    assert 'resumed epoch: 0, iter: 3' in (proc.stdout + proc.stderr)


def test_auto_scale_lr_and_cfg_options(tmp_path, toy_config):
    work_dir = tmp_path / 'run'
    proc = run_tool(
        [
            'tools/train.py',
            str(toy_config),
            '--work-dir',
            str(work_dir),
            '--auto-scale-lr',
            '--cfg-options',
            'train_dataloader.batch_size=8',
            'train_cfg.max_iters=1',
        ]
    )
    # lr 0.05 x 8 / 4 (base batch size) = 0.1
    assert 'LR is set based on batch size of 8' in proc.stdout + proc.stderr
    assert (work_dir / 'iter_1.pth').is_file()
