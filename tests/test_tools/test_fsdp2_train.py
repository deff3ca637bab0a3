# Copyright (c) mmmim contributors. All rights reserved.
"""FSDP2 training through ``tools/dist_train.sh`` on CPU (gloo).

Two processes with every block sharded reach the losses and weights of one
unsharded process with the same global batch (mmengine's own
``SingleDeviceStrategy``), for MAE and VideoMAE (with activation
checkpointing); a SIGKILL after a checkpoint followed by ``--resume``
ends with the weights of the uninterrupted run, from a sharded folder or
a full file; full checkpoints load strictly into the plain model. Each
comparison has a negative control that must fail it.
"""

import json

import pytest
import torch

from .conftest import REPO_ROOT, run_tool
from .test_dist_equivalence import _free_port

CONFIGS = REPO_ROOT / 'tests' / 'data' / 'configs'
METHOD_CONFIGS = {
    'mae': CONFIGS / 'mae_tiny_fsdp2.py',
    'videomae': CONFIGS / 'videomae_tiny_fsdp2.py',
}
#: Float noise that Adam's normalised steps amplify (as for DDP).
WEIGHT_TOL = dict(rtol=1e-3, atol=1e-4)


def _write_config(path, base, body: str = ''):
    path.write_text(f"_base_ = '{base}'\n{body}")
    return path


def _train(config, work_dir, procs=2, options=(), resume=False, expect_rc=0):
    """Run ``tools/train.py`` (one process) or ``dist_train.sh``."""
    extra = ['--work-dir', str(work_dir)] + (['--resume'] if resume else [])
    if options:
        extra += ['--cfg-options', *options]
    if procs == 1:
        return run_tool(['tools/train.py', str(config), *extra])
    return run_tool(
        ['bash', 'tools/dist_train.sh', str(config), str(procs), *extra],
        env_extra=dict(PORT=str(_free_port())),
        expect_rc=expect_rc,
    )


def _losses(work_dir, ranks=(0,)):
    runs = [
        json.loads((work_dir / f'rank{r}_losses.json').read_text())
        for r in ranks
    ]
    return torch.tensor(runs).mean(0)


def _weights(work_dir):
    return torch.load(work_dir / 'rank0_weights.pth', weights_only=True)


def _grad_norms(work_dir):
    """The gradient norms that rank 0 logged, one per iteration."""
    lines = next(work_dir.glob('*/vis_data/scalars.json')).read_text()
    records = [json.loads(line) for line in lines.splitlines()]
    return torch.tensor([r['grad_norm'] for r in records if 'grad_norm' in r])


def _max_diff(a, b):
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Lazily run and cache: ``runs(method, kind)`` -> work dir."""
    root = tmp_path_factory.mktemp('fsdp2')
    done = {}

    def get(method, kind):
        if (method, kind) in done:
            return done[(method, kind)]
        work_dir = root / f'{method}_{kind}'
        config = METHOD_CONFIGS[method]
        batch = ['train_dataloader.batch_size=4']
        if kind == 'one':  # one process, mmengine's unsharded strategy
            body = (
                "strategy = dict(_delete_=True, type='SingleDeviceStrategy')"
            )
            one = _write_config(root / f'{method}_one.py', config, body)
            _train(one, work_dir, 1)
        elif kind == 'two':
            _train(config, work_dir, 2, batch)
        elif kind == 'seed1':
            _train(config, work_dir, 2, batch + ['randomness.seed=1'])
        done[(method, kind)] = work_dir
        return work_dir

    return get


@pytest.mark.parametrize('method', list(METHOD_CONFIGS))
def test_two_sharded_processes_follow_one_process(method, runs):
    one, two = runs(method, 'one'), runs(method, 'two')
    single, sharded = _losses(one), _losses(two, (0, 1))
    assert len(single) == 5
    # Equal masked counts per sample: the global loss is the mean of the
    # ranks' losses (masks drawn for the global batch, see
    # mmmim/models/mask_generators/global_batch.py).
    torch.testing.assert_close(sharded, single, rtol=1e-5, atol=1e-6)
    # Gradient clipping saw the global norm of the sharded gradients.
    torch.testing.assert_close(
        _grad_norms(two), _grad_norms(one), rtol=1e-5, atol=1e-7
    )
    w_one, w_two = _weights(one), _weights(two)
    for key in w_one:
        torch.testing.assert_close(w_two[key], w_one[key], **WEIGHT_TOL)
    # The log of the sharded run names its units.
    log = next(two.glob('*/*.log')).read_text()
    assert 'FSDP2: 3 blocks sharded over 2 ranks' in log
    if method == 'videomae':
        assert 'activation checkpointing: True' in log


def test_negative_control_another_seed_fails_the_comparison(runs):
    one, other = runs('mae', 'one'), runs('mae', 'seed1')
    assert not torch.allclose(_losses(other, (0, 1)), _losses(one))
    w_one, w_other = _weights(one), _weights(other)
    assert _max_diff(w_one, w_other) > 10 * WEIGHT_TOL['atol']


def _kill_and_resume(tmp_path, fmt, resume_options=()):
    """Train 5 iterations, SIGKILLed after the checkpoint of iteration 3,
    then ``--resume``; returns the work dir."""
    base = METHOD_CONFIGS['mae']
    ckpt = (
        f"strategy = dict(checkpoint_format='{fmt}')\n"
        'default_hooks = dict(checkpoint=dict(interval=1, '
        'max_keep_ckpts=2))\n'
    )
    hooks = (
        "custom_hooks = [dict(type='DumpLossesHook'), "
        "dict(type='DumpFullWeightsHook'), "
        "dict(type='KillAfterCheckpointHook', kill_iter=3)]\n"
    )
    kill = _write_config(tmp_path / 'kill.py', base, ckpt + hooks)
    again = _write_config(tmp_path / 'again.py', base, ckpt)
    work_dir = tmp_path / 'run'
    batch = ['train_dataloader.batch_size=4']
    # torchrun reports the killed ranks.
    _train(kill, work_dir, 2, batch, expect_rc=1)
    assert not (work_dir / 'rank0_weights.pth').exists()
    assert (work_dir / 'last_checkpoint').read_text() == 'iter_3.pth'
    _train(again, work_dir, 2, batch + list(resume_options), resume=True)
    return work_dir


@pytest.mark.parametrize('fmt', ['sharded', 'full'])
def test_sigkill_then_resume_ends_like_the_uninterrupted_run(
    fmt, runs, tmp_path
):
    work_dir = _kill_and_resume(tmp_path, fmt)
    last = work_dir / 'iter_5.pth'
    if fmt == 'sharded':
        assert (last / '.metadata').is_file() and (
            last / 'extra.pth'
        ).is_file()
    else:
        assert last.is_file()
    # No temporary leftovers of the killed run.
    assert not list(work_dir.glob('.*partial*'))
    resumed = _losses(work_dir, (0, 1))
    uninterrupted = _losses(runs('mae', 'two'), (0, 1))
    torch.testing.assert_close(resumed, uninterrupted[3:], rtol=0, atol=1e-6)
    diff = _max_diff(_weights(work_dir), _weights(runs('mae', 'two')))
    assert diff <= 1e-6, diff


def test_negative_control_resume_on_other_data_differs(runs, tmp_path):
    # The resumed iterations see unshuffled samples: the weights must part.
    # (A new lr would not do: the optimizer state restores the old one.)
    work_dir = _kill_and_resume(
        tmp_path, 'sharded', ['train_dataloader.sampler.shuffle=False']
    )
    diff = _max_diff(_weights(work_dir), _weights(runs('mae', 'two')))
    assert diff > 1e-4, diff


def test_full_and_converted_checkpoints_load_strictly_unsharded(
    runs, tmp_path
):
    from mmengine.config import Config

    from mmmim.registry import MODELS

    work_dir = tmp_path / 'full'
    base = METHOD_CONFIGS['mae']
    full = _write_config(
        tmp_path / 'full.py', base, "strategy = dict(checkpoint_format='full')"
    )
    _train(full, work_dir, 2, ['train_dataloader.batch_size=4'])
    cfg = Config.fromfile(str(CONFIGS / 'mae_tiny_ddp.py'))
    gathered = _weights(runs('mae', 'two'))

    # A full file: the plain model (strict) and the plain optimizer.
    ckpt = torch.load(work_dir / 'iter_5.pth', weights_only=False)
    model = MODELS.build(cfg.model)
    model.load_state_dict(ckpt['state_dict'], strict=True)
    assert _max_diff(model.state_dict(), gathered) == 0
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    optimizer.load_state_dict(ckpt['optimizer'])
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(optimizer.state) == len(trainable)
    assert ckpt['meta']['iter'] == 5

    # A sharded folder, gathered by the converter in one process.
    out = tmp_path / 'converted.pth'
    run_tool(
        [
            'tools/model_converters/sharded_to_full.py',
            str(runs('mae', 'two') / 'iter_5.pth'),
            str(out),
        ]
    )
    converted = torch.load(out, weights_only=False)
    model = MODELS.build(cfg.model)
    model.load_state_dict(converted['state_dict'], strict=True)
    assert _max_diff(model.state_dict(), gathered) == 0
    # Negative control: another run's weights are not these.
    other = _weights(runs('mae', 'seed1'))
    assert _max_diff(model.state_dict(), other) > 1e-3


def _merge(config, *argv):
    """tools/train.py's merge_args on ``config`` with command-line args."""
    import importlib.util
    import sys
    from unittest import mock

    from mmengine.config import Config

    spec = importlib.util.spec_from_file_location(
        'train_tool', REPO_ROOT / 'tools' / 'train.py'
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with mock.patch.object(sys, 'argv', ['train.py', str(config), *argv]):
        args = tool.parse_args()
    return tool.merge_args(Config.fromfile(str(config)), args)


def test_command_line_options_reach_the_strategy(tmp_path):
    config = METHOD_CONFIGS['mae']
    work = ['--work-dir', str(tmp_path)]
    cfg = _merge(config, *work, '--amp')
    # --amp on FSDP2: the strategy's bf16 policy, the batch kept in fp32
    # and autocast for the layers outside the blocks.
    assert dict(cfg.strategy.mp_policy) == dict(
        param_dtype='bfloat16', reduce_dtype='float32'
    )
    assert cfg.optim_wrapper.type == 'mmmim.AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.strategy.cast_root_inputs is False
    with pytest.raises(ValueError, match='bfloat16'):
        _merge(config, *work, '--amp', '--amp-dtype', 'float16')
    # FlexibleRunner.from_cfg drops `compile`: the strategy gets it.
    cfg = _merge(config, *work, '--cfg-options', 'compile=True')
    assert cfg.strategy.compile is True
    # A misspelt strategy key stops the run before it starts.
    from mmmim.engine.config_check import ConfigKeyError

    with pytest.raises(ConfigKeyError, match='activation_checkpointing'):
        _merge(
            config,
            *work,
            '--cfg-options',
            'strategy.activation_checkpoint=True',
        )


def test_a_strategy_typo_fails_tools_train_at_start_up(tmp_path):
    proc = run_tool(
        [
            'tools/train.py',
            str(METHOD_CONFIGS['mae']),
            '--work-dir',
            str(tmp_path),
            '--cfg-options',
            "strategy.checkpoint_format='shraded'",
        ],
        expect_rc=1,
    )
    assert "checkpoint_format='shraded'" in proc.stderr
    assert 'Iter(train)' not in proc.stdout + proc.stderr
