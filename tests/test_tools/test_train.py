# Copyright (c) mmmim contributors. All rights reserved.
"""tools/train.py: training, checkpoints, --resume under torch >= 2.6."""

import torch

from mmmim.utils import safe_torch_load

from .conftest import run_tool


def _final_weights(work_dir) -> dict:
    return torch.load(work_dir / 'rank0_weights.pth', weights_only=True)


def _train(config, work_dir, *extra, expect_rc=0):
    args = ['tools/train.py', str(config), '--work-dir', str(work_dir)]
    return run_tool(args + list(extra), expect_rc=expect_rc)


def test_train_writes_checkpoints(tmp_path, toy_config):
    work_dir = tmp_path / 'run'
    proc = _train(toy_config, work_dir)
    assert (work_dir / 'iter_3.pth').is_file()
    assert (work_dir / 'iter_6.pth').is_file()
    assert 'Iter(train) [6/6]' in proc.stdout + proc.stderr
    ckpt = safe_torch_load(str(work_dir / 'iter_6.pth'))
    assert ckpt['meta']['iter'] == 6
    # The checkpoint holds the final weights of the run.
    final = _final_weights(work_dir)
    for key, value in final.items():
        assert torch.equal(ckpt['state_dict'][key], value)


def test_resume_after_sigkill_matches_uninterrupted_run(
    tmp_path, toy_config, rng
):
    full_dir = tmp_path / 'full'
    _train(toy_config, full_dir)

    # SIGKILL the job right after a seeded random iteration in 3..5
    # (checkpoints every 3 iterations), then resume with the unchanged
    # config.
    kill_iter = rng.randint(3, 5)
    print(f'kill at iteration {kill_iter}')  # shown when the test fails
    part_dir = tmp_path / 'part'
    _train(
        toy_config,
        part_dir,
        '--cfg-options',
        f'custom_hooks.2.kill_iter={kill_iter}',
        expect_rc=-9,
    )
    assert (part_dir / 'iter_3.pth').is_file()
    assert not (part_dir / 'iter_6.pth').exists()
    proc = _train(toy_config, part_dir, '--resume')
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 3' in log, kill_iter

    full, resumed = _final_weights(full_dir), _final_weights(part_dir)
    assert full.keys() == resumed.keys()
    for key in full:
        torch.testing.assert_close(resumed[key], full[key], rtol=0, atol=0)
    # The weights did change after the checkpoint (not a vacuous check).
    first = safe_torch_load(str(part_dir / 'iter_3.pth'))['state_dict']
    assert not torch.equal(first['linear.weight'], full['linear.weight'])


def test_resume_without_random_states_differs(tmp_path, toy_config):
    """Without RandomStateHook the dropout draws after resuming differ,
    which is why the hook exists."""
    no_rng = ['--cfg-options', 'custom_hooks.0.type=DumpWeightsHook']
    full_dir, part_dir = tmp_path / 'full', tmp_path / 'part'
    _train(toy_config, full_dir, *no_rng)
    _train(
        toy_config,
        part_dir,
        *no_rng,
        'custom_hooks.2.kill_iter=4',
        expect_rc=-9,
    )
    _train(toy_config, part_dir, '--resume', *no_rng)
    full, resumed = _final_weights(full_dir), _final_weights(part_dir)
    assert not torch.equal(full['linear.weight'], resumed['linear.weight'])


def test_resume_from_explicit_checkpoint(tmp_path, toy_config):
    work_dir = tmp_path / 'run'
    _train(toy_config, work_dir)
    proc = _train(
        toy_config,
        tmp_path / 'again',
        '--resume',
        str(work_dir / 'iter_3.pth'),
    )
    assert 'resumed epoch: 0, iter: 3' in proc.stdout + proc.stderr


def test_auto_scale_lr_and_cfg_options(tmp_path, toy_config):
    work_dir = tmp_path / 'run'
    proc = _train(
        toy_config,
        work_dir,
        '--auto-scale-lr',
        '--cfg-options',
        'train_dataloader.batch_size=8',
        'train_cfg.max_iters=1',
    )
    log = proc.stdout + proc.stderr
    # lr 0.05 x 8 / 4 (base batch size) = 0.1
    assert 'the current batch size is 8. Scaling the original LR by 2.0' in log
    assert 'lr: 1.0000e-01' in log
    assert (work_dir / 'iter_1.pth').is_file()
