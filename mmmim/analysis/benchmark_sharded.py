# Copyright (c) mmmim contributors. All rights reserved.
"""What FSDP2 costs on one device (``tools/analysis_tools/
benchmark_fsdp2.py``): the training step of a config's model, plain
(bf16 autocast, fp32 weights) and sharded by
:func:`~mmmim.engine.strategies.fsdp2_sharding.apply_fsdp2` (bf16
parameters, fp32 shards and reduction, optionally with activation
checkpointing), one after the other on the same weights and batches, with
the memory planner's figure for each.

On one GPU the shards are whole tensors and the collectives are copies,
so the difference is what sharding machinery, bf16 parameters and
recomputation cost or save per GPU; the memory per GPU shrinks further
with more GPUs (see the memory planner).
"""

import copy
import gc
import os
import socket
import statistics
import time
from dataclasses import dataclass
from typing import List, Optional

import torch
import torch.distributed as dist
import torch.nn as nn

from mmmim.analysis import memory

__all__ = ['SideResult', 'compare', 'format_results', 'init_single_process']


@dataclass
class SideResult:
    """One side: median step time, peak memory, first loss, plan."""

    name: str
    step_ms: float
    peak_bytes: Optional[int]
    first_loss: float
    planned_bytes: int
    state_bytes: int = 0

    def rate(self, batch: int) -> float:
        return batch / self.step_ms * 1000


def init_single_process(device: torch.device) -> bool:
    """Start a one-process group (NCCL on CUDA, gloo on a CPU) unless one
    exists, as ``fully_shard`` needs a device mesh; True if started."""
    if dist.is_initialized():
        return False
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', str(port))
    backend = 'nccl' if device.type == 'cuda' else 'gloo'
    dist.init_process_group(backend, rank=0, world_size=1)
    return True


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _time_side(
    model: nn.Module,
    inputs: torch.Tensor,
    device: torch.device,
    steps: int,
    warmup: int,
    autocast: bool,
):
    """Warm-up and timed steps (seeded alike on both sides); returns the
    median ms, the first step's loss and the bytes of weights, gradients
    and optimizer states resident after the last step (local shards).

    Raises:
        RuntimeError: If a trained parameter got no gradient or no
            optimizer state: the timing would be of a step that does not
            train.
    """
    fused = dict(fused=True) if device.type == 'cuda' else {}
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=1.5e-4,
        betas=(0.9, 0.95),
        weight_decay=0.05,
        **fused,
    )
    times, first = [], None
    for step in range(warmup + steps):
        torch.manual_seed(step)  # the same masks on both sides
        _synchronize(device)
        begin = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(
            device.type, dtype=torch.bfloat16, enabled=autocast
        ):
            loss = memory.training_loss(model, inputs)
        loss.backward()
        optimizer.step()
        _synchronize(device)
        if first is None:
            first = float(loss.detach())
        if step >= warmup:
            times.append((time.perf_counter() - begin) * 1e3)
    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    missing = [
        n for n, p in trained if p.grad is None or p not in optimizer.state
    ]
    if missing:
        raise RuntimeError(
            f'{len(missing)} of {len(trained)} trained parameters have no '
            f'gradient or optimizer state after the step: {missing[:4]}'
        )
    tensors = [p for _, p in trained] + [p.grad for _, p in trained]
    tensors += [
        v
        for st in optimizer.state.values()
        for v in st.values()
        if torch.is_tensor(v) and v.device.type == device.type
    ]
    state = sum(_local_bytes(t) for t in tensors)
    return statistics.median(times), first, state


def _local_bytes(tensor: torch.Tensor) -> int:
    """Bytes this rank holds of ``tensor`` (a DTensor's local shard)."""
    local = getattr(tensor, '_local_tensor', tensor)
    return local.numel() * local.element_size()


def compare(
    cfg,
    batch: int,
    steps: int = 10,
    warmup: int = 3,
    device: Optional[torch.device] = None,
    checkpointing: bool = False,
) -> List[SideResult]:
    """Time the plain and the FSDP2 step of ``cfg.model`` on ``device``.

    Args:
        cfg (Config): A training config (its ``model`` is built).
        batch (int): Samples per step.
        steps (int): Timed steps per side (median reported).
        warmup (int): Untimed steps per side.
        device (torch.device, optional): Defaults to CUDA if available.
        checkpointing (bool): Activation checkpointing on the FSDP2 side.

    Returns:
        List[SideResult]: ``[plain, fsdp2]``.
    """
    from mmengine.registry import MODELS, DefaultScope

    from mmmim.engine.strategies.fsdp2_sharding import apply_fsdp2
    from mmmim.utils import register_all_modules

    device = device or torch.device(
        'cuda' if torch.cuda.is_available() else 'cpu'
    )
    started = init_single_process(device)
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        torch.manual_seed(0)
        template = MODELS.build(cfg.model).train()
    meta = memory.build_meta_model(cfg)
    shape = memory.input_shape(meta)
    inputs = torch.randn(
        batch, *shape, generator=torch.Generator().manual_seed(0)
    )
    inputs = inputs.to(device)
    adamw = memory.optimizer_spec(dict(type='AdamW', fused=True))
    sides = [
        ('plain (bf16 autocast)', 'ddp', 'bf16-autocast', False),
        (
            'FSDP2 (bf16 params, fp32 reduce'
            + (', checkpointing)' if checkpointing else ')'),
            'fsdp2',
            'bf16-params',
            checkpointing,
        ),
    ]
    results = []
    try:
        for name, kind, precision, ckpt in sides:
            strategy = memory.Strategy(kind, 1, ckpt, precision)
            planned = memory.plan(meta, strategy, adamw, batch, shape=shape)
            if device.type == 'cuda':
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)
                before = torch.cuda.memory_allocated(device)
            model = copy.deepcopy(template).to(device)
            if kind == 'fsdp2':
                model = apply_fsdp2(
                    model,
                    mp_policy=dict(
                        param_dtype='bfloat16', reduce_dtype='float32'
                    ),
                    activation_checkpointing=ckpt,
                    cast_root_inputs=False,
                )
            step_ms, first, state = _time_side(
                model, inputs, device, steps, warmup, autocast=True
            )
            peak = None
            if device.type == 'cuda':
                # The batch was on the device before: counted as the
                # planner counts it (among the activations).
                peak = torch.cuda.max_memory_allocated(device) - before
                peak += inputs.numel() * inputs.element_size()
                if peak < state:
                    raise RuntimeError(
                        f'{name}: peak {peak / 2**30:.2f} GiB below the '
                        f'{state / 2**30:.2f} GiB of weights, gradients and '
                        'optimizer states it holds: the memory accounting '
                        'is off (memory of the previous side freed during '
                        'this one?)'
                    )
            results.append(
                SideResult(name, step_ms, peak, first, planned.total, state)
            )
            del model
            gc.collect()  # nothing of this side left for the next
    finally:
        if started:
            dist.destroy_process_group()
    return results


def format_results(results: List[SideResult], batch: int, unit: str) -> str:
    """A table of both sides and the FSDP2/plain ratios."""
    lines = [
        f'{"implementation":44s} {"step ms":>8s} {unit + "/s":>9s} '
        f'{"state GiB":>9s} {"peak GiB":>9s} {"planned GiB":>11s} '
        f'{"first loss":>10s}'
    ]
    for side in results:
        peak = (
            'n/a'
            if side.peak_bytes is None
            else (f'{side.peak_bytes / 2**30:.2f}')
        )
        lines.append(
            f'{side.name:44s} {side.step_ms:8.1f} '
            f'{side.rate(batch):9.1f} {side.state_bytes / 2**30:9.2f} '
            f'{peak:>9s} '
            f'{side.planned_bytes / 2**30:11.2f} {side.first_loss:10.5f}'
        )
    plain, sharded = results
    diff = abs(sharded.first_loss - plain.first_loss) / abs(plain.first_loss)
    lines.append(
        f'FSDP2 step time / plain: {sharded.step_ms / plain.step_ms:.3f}; '
        f'first losses differ by {diff:.1e} (relative; bf16 parameters '
        'against bf16 autocast)'
    )
    return '\n'.join(lines)
