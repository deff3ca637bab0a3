# Copyright (c) mmmim contributors. All rights reserved.
"""NonFiniteGuardHook: a NaN injected at iteration 2 of the toy job."""

import torch

from mmmim.utils import safe_torch_load

from ..test_tools.conftest import TOY_CONFIG, run_tool

NAN_CONFIG = TOY_CONFIG.parent / 'toy_nan.py'


def _train(work_dir, *options, expect_rc=0, config=NAN_CONFIG):
    args = ['tools/train.py', str(config), '--work-dir', str(work_dir)]
    if options:
        args += ['--cfg-options', *options]
    return run_tool(args, expect_rc=expect_rc)


def test_without_guard_the_weights_become_nan(tmp_path):
    _train(tmp_path, config=NAN_CONFIG.parent / 'toy_nan_unguarded.py')
    weights = torch.load(tmp_path / 'rank0_weights.pth', weights_only=True)
    assert torch.isnan(weights['linear.weight']).all()


def test_skip_drops_the_bad_update_and_counts_it(tmp_path):
    proc = _train(tmp_path)
    log = proc.stdout + proc.stderr
    assert 'Non-finite loss or gradients at iteration 2' in log
    assert 'nonfinite_skips: 1' in log
    weights = torch.load(tmp_path / 'rank0_weights.pth', weights_only=True)
    assert torch.isfinite(weights['linear.weight']).all()
    # Three iterations, two optimizer updates: iteration 2 was dropped.
    ckpt = safe_torch_load(str(tmp_path / 'iter_3.pth'))
    assert int(ckpt['optimizer']['state'][0]['step']) == 2
    assert torch.isfinite(ckpt['state_dict']['linear.bias']).all()


def test_stop_names_iteration_terms_and_hint(tmp_path):
    proc = _train(tmp_path, 'custom_hooks.2.action=stop', expect_rc=1)
    err = proc.stderr
    assert 'FloatingPointError' in err
    assert 'iteration 2' in err and 'loss=nan' in err
    assert 'bf16' in err and 'clip_grad' in err


def test_max_skips_stops(tmp_path):
    proc = _train(tmp_path, 'custom_hooks.2.max_skips=1', expect_rc=1)
    assert 'reached max_skips' in proc.stderr
