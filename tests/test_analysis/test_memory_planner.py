# Copyright (c) mmmim contributors. All rights reserved.
"""The memory planner (``mmmim.analysis.memory``) against real runs.

* State bytes: a 2-process gloo run shards tiny MAE and VideoMAE models
  with ``apply_fsdp2`` (odd widths: uneven chunks and empty last shards),
  takes one AdamW step, and each rank sums the storages of its parameter
  shards, gradients and optimizer states; the planner must give the same
  bytes for that rank. DDP ranks hold the full model.
* Activations: the peak of the CPU allocator's live bytes during one
  forward + backward of a real tiny model, from the profiler's allocation
  and free events, minus what was live before (weights, gradients already
  allocated by a warm-up step); the planner's fake-tensor simulation must
  be within 20 % of it.
"""

import json
import socket
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from mmmim.analysis import memory
from mmmim.analysis.memory import (
    OptimizerSpec,
    Strategy,
    build_meta_model,
    input_shape,
    largest_batch,
    shard_rows,
    simulate_step,
    state_bytes,
    usable_bytes,
)

from ._memory_workers import load_config, run_rank

REPO = Path(__file__).resolve().parents[2]
TOLERANCE = 0.2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _two_ranks(name, kind, fused, tmp_path, mixed=False) -> list:
    mp.spawn(
        run_rank,
        args=(2, _free_port(), name, kind, fused, str(tmp_path), mixed),
        nprocs=2,
    )
    return [json.loads((tmp_path / f'{r}.json').read_text()) for r in (0, 1)]


@pytest.mark.parametrize(
    'name,fused,mixed',
    [('mae', True, False), ('videomae', False, False), ('mae', True, True)],
    ids=['mae', 'video', 'mae-bf16-params-checkpointing'],
)
def test_fsdp2_state_bytes_equal_what_each_rank_holds(
    name, fused, mixed, tmp_path
):
    held = _two_ranks(name, 'fsdp2', fused, tmp_path, mixed)
    model = build_meta_model(load_config(name))
    spec = memory.optimizer_spec(dict(type='AdamW', fused=fused))
    assert spec == OptimizerSpec('AdamW', 2, fused, True)
    precision = 'bf16-params' if mixed else 'fp32'
    strategy = Strategy('fsdp2', 2, mixed, precision)
    for rank, real in enumerate(held):
        planned = state_bytes(model, strategy, spec, rank)
        print(name, rank, 'planned', planned, 'held', real)
        assert planned['params'] == real['params']
        assert planned['grads'] == real['grads']
        # Unfused AdamW keeps its `step` scalars on the host.
        states = planned['optimizer'] + planned['optimizer_host']
        assert states == real['optimizer']
        assert planned['optimizer_host'] == (0 if fused else real['steps'])
    # Uneven chunks: the last rank has empty rows, hence fewer states.
    assert held[0]['optimizer'] > held[1]['optimizer']
    full = state_bytes(model, Strategy('ddp', 1), spec)
    assert held[0]['params'] < full['params']


def test_ddp_state_bytes_are_the_full_model(tmp_path):
    held = _two_ranks('mae', 'ddp', True, tmp_path)
    model = build_meta_model(load_config('mae'))
    spec = OptimizerSpec('AdamW', 2, step_on_device=True, has_step=True)
    planned = state_bytes(model, Strategy('ddp', 2), spec)
    params = list(model.parameters())
    trained = [p for p in params if p.requires_grad]
    assert planned['params'] == sum(4 * p.numel() for p in params)
    assert planned['grads'] == sum(4 * p.numel() for p in trained)
    assert planned['optimizer'] == sum(8 * p.numel() + 4 for p in trained)
    assert planned['buckets'] == planned['grads']
    for real in held:
        assert real['params'] == planned['params']
        assert real['grads'] == planned['grads']
        assert real['optimizer'] == planned['optimizer']


@pytest.mark.parametrize(
    'dim0,world,expected',
    [
        (8, 2, [(4, 4), (4, 4)]),
        (75, 2, [(38, 38), (38, 37)]),
        (1, 2, [(1, 1), (1, 0)]),
        # torch.chunk makes 3 chunks of 2: the 4th rank stores 2 zero rows.
        (5, 4, [(2, 2), (2, 2), (2, 1), (2, 0)]),
    ],
)
def test_shard_rows_follow_torch_chunk(dim0, world, expected):
    assert [shard_rows(dim0, world, r) for r in range(world)] == expected
    chunks = torch.arange(dim0).chunk(world)
    assert [local for _, local in expected][: len(chunks)] == [
        len(c) for c in chunks
    ]


# -- activations ------------------------------------------------------------


def _allocator_peak(model, inputs, autocast: bool = False) -> int:
    """Peak of live CPU-allocator bytes during forward + backward, above
    what was live when the step began (weights, gradients)."""
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    def step():
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            loss = model.loss(inputs)['loss']
        loss.backward()

    step()  # allocates the gradients, as every step after the first finds
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as p:
        step()
    events, stack = (
        [],
        list(p.profiler.kineto_results.experimental_event_tree()),
    )
    while stack:
        event = stack.pop()
        stack.extend(event.children)
        if event.tag == _EventType.Allocation:
            events.append((event.start_time_ns, event.extra_fields.alloc_size))
    live = peak = 0
    for _, size in sorted(events):
        live += size
        peak = max(peak, live)
    assert abs(live) < 4096, 'the step leaked tensors'
    return peak


def _real_model(name: str, checkpointing: bool):
    from mmengine.registry import MODELS, DefaultScope
    from torch.distributed._composable import checkpoint

    from mmmim.engine.strategies.fsdp2_sharding import find_blocks
    from mmmim.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    cfg = _activation_config(name)
    with DefaultScope.overwrite_default_scope('mmmim'):
        model = MODELS.build(cfg.model).train()
    if checkpointing:
        for block in find_blocks(model):
            checkpoint(block)
    return model, cfg


def _activation_config(name: str):
    # The demo widths (192-d encoder, 128-d decoder): activations dominate.
    cfg = load_config(name)
    cfg.merge_from_dict(
        {
            'model.backbone.arch.embed_dims': 192,
            'model.backbone.arch.feedforward_channels': 768,
            'model.neck.embed_dims': 192,
            'model.neck.decoder_embed_dims': 128,
            'model.neck.decoder_num_heads': 4,
        }
    )
    return cfg


@pytest.mark.parametrize(
    'name,batch,checkpointing,precision',
    [
        ('mae', 8, False, 'fp32'),
        ('mae', 8, True, 'fp32'),
        ('mae', 8, False, 'bf16-autocast'),
        ('videomae', 4, False, 'fp32'),
        ('videomae', 4, True, 'fp32'),
    ],
)
def test_activation_estimate_is_within_20_percent_of_the_allocator(
    name, batch, checkpointing, precision
):
    model, cfg = _real_model(name, checkpointing)
    inputs = torch.randn(batch, *input_shape(model))
    measured = _allocator_peak(
        model, inputs, autocast=precision == 'bf16-autocast'
    )
    strategy = Strategy('ddp', 1, checkpointing, precision)
    estimate = simulate_step(build_meta_model(cfg), batch, strategy).peak
    error = estimate / measured - 1
    print(
        f'{name} B={batch} ckpt={checkpointing} {precision}: planned '
        f'{estimate} measured {measured} bytes ({error:+.1%})'
    )
    assert abs(error) <= TOLERANCE


def test_checkpointing_lowers_the_planned_and_measured_peak():
    plain, cfg = _real_model('mae', False)
    ckpt, _ = _real_model('mae', True)
    inputs = torch.randn(8, *input_shape(plain))
    meta = build_meta_model(cfg)
    planned = [
        simulate_step(meta, 8, Strategy('ddp', 1, c)).peak
        for c in (False, True)
    ]
    measured = [_allocator_peak(m, inputs) for m in (plain, ckpt)]
    assert planned[1] < 0.6 * planned[0]
    assert measured[1] < 0.6 * measured[0]


def test_doubled_batch_is_not_within_tolerance():
    # Negative control: the measurement follows the batch, so the estimate
    # of the original batch fails the check against twice the batch.
    model, cfg = _real_model('mae', False)
    shape = input_shape(model)
    once = _allocator_peak(model, torch.randn(8, *shape))
    twice = _allocator_peak(model, torch.randn(16, *shape))
    assert 1.8 < twice / once < 2.2
    estimate = simulate_step(build_meta_model(cfg), 8, Strategy()).peak
    assert abs(estimate / twice - 1) > 2 * TOLERANCE


# -- the largest batch --------------------------------------------------------


def test_largest_batch_known_numbers():
    gib = 2**30
    # 80 GiB card, 1 GiB context, 10 % fragmentation: 71.1 GiB.
    budget = usable_bytes(80, 1.0, 0.1)
    assert budget == int(79 * 0.9 * gib)
    # 10 GiB of state, 1 GiB fixed activations, 0.5 GiB per sample:
    # (71.1 - 11) / 0.5 = 120.2 -> 120.
    assert largest_batch(budget, 10 * gib, gib, gib // 2) == 120
    assert largest_batch(budget, 70 * gib, 2 * gib, gib // 2) == 0
    # Exactly full: the boundary batch fits.
    assert largest_batch(100, 40, 10, 5) == 10
    assert largest_batch(99, 40, 10, 5) == 9
    with pytest.raises(ValueError):
        largest_batch(100, 0, 0, 0)


def test_plan_largest_batch_fits_and_one_more_does_not():
    cfg = load_config('mae')
    model = build_meta_model(cfg)
    strategy = Strategy('fsdp2', 2, True, 'bf16-params')
    spec = memory.optimizer_spec(dict(type='AdamW', fused=True))
    budget = 64 * 2**20
    result = memory.plan(model, strategy, spec, 4, budget)
    best = result.max_batch
    assert best > 4

    def total(batch):
        return result.static + simulate_step(model, batch, strategy).peak

    assert total(best) <= budget < total(best + 1)


# -- the tool -----------------------------------------------------------------


def test_meta_build_makes_no_weights():
    from mmengine.config import Config

    cfg = Config.fromfile(
        REPO / 'configs/mae/mae_vit-huge-p14_8xb512-amp-coslr-1600e_in1k.py'
    )
    model = build_meta_model(cfg)
    params = list(model.parameters())
    assert all(p.is_meta for p in params)
    assert 650e6 < sum(p.numel() for p in params) < 660e6


def test_tool_prints_a_plan(capsys):
    sys.path.insert(0, str(REPO / 'tools' / 'analysis_tools'))
    try:
        import memory_planner
    finally:
        sys.path.pop(0)
    config = REPO / 'configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py'
    memory_planner.main(
        [
            str(config),
            '--gpus',
            '2',
            '--strategy',
            'fsdp2',
            '--checkpointing',
            '--gpu-memory',
            'H100',
            '--batch',
            '4',
        ]
    )
    out = capsys.readouterr().out
    assert 'fsdp2 on 2 GPU(s), fp32, activation checkpointing' in out
    assert 'FSDP2 gathered parameters' in out
    assert 'largest per-GPU batch' in out
    assert f'{81559 / 1024:.1f} GiB' in out
    with pytest.raises(SystemExit):
        memory_planner.main([str(config), '--gpu-memory', 'V999'])


@pytest.mark.parametrize(
    'config',
    [
        'configs/mae/benchmarks/cls/vit-mini-p4_1xb128-coslr-4e_fashion-mnist.py',
        'configs/videomae/benchmarks/cls/vit-tiny-p8_1xb4-coslr-demo_video.py',
    ],
)
def test_fine_tuning_configs_plan(config):
    from mmengine.config import Config

    cfg = Config.fromfile(REPO / config)
    model = build_meta_model(cfg)
    spec = memory.optimizer_spec(cfg.optim_wrapper.optimizer)
    peaks = [
        simulate_step(model, 4, Strategy('fsdp2', 2, c)).peak
        for c in (False, True)
    ]
    assert 0 < peaks[1] < peaks[0]
    state = state_bytes(model, Strategy('fsdp2', 2), spec)
    assert 0 < state['params'] < sum(4 * p.numel() for p in model.parameters())
