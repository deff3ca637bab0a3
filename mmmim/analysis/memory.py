# Copyright (c) mmmim contributors. All rights reserved.
"""Plan the GPU memory of a training run (``tools/analysis_tools/
memory_planner.py``): bytes per GPU of parameters, gradients, optimizer
states and activations under DDP or FSDP2, and the largest per-GPU batch
that fits a card.

The model is built with its parameters and buffers on the ``meta`` device
(no memory, no weights), and its training step runs on fake tensors, so
even ViT-H plans in seconds on a CPU.

* **Parameters, gradients, optimizer states** follow from the parameter
  shapes. DDP keeps the whole model on every GPU, plus the gradient
  buckets it reduces in (a second copy of the gradients unless
  ``gradient_as_bucket_view``). FSDP2 (:func:`~mmmim.engine.strategies.
  fsdp2_sharding.apply_fsdp2`: one unit per transformer block, then the
  root) splits every parameter on dim 0 into ``ceil(d0 / W)``-row chunks;
  each rank stores its chunk padded to that size (zero rows where ``d0``
  does not divide), and the reduce-scatter leaves each rank the padded
  gradient shards of a unit in one flat buffer. The optimizer allocates
  its states with ``zeros_like`` of the *unpadded* local shard. These
  numbers are exact (tested against a 2-process FSDP2 run).
* **Gathered parameters** (FSDP2 only, an estimate): the root unit is
  gathered for the whole step; at most two block units at a time (the one
  running and the one prefetched in backward), plus the reduce-scatter
  input of one unit.
* **Activations** are estimated by running one training step of the real
  model on fake tensors (``FakeTensorMode``: shapes and dtypes, no data,
  CPU kernels' choices, e.g. flash attention that keeps no attention
  matrix) while a dispatch mode counts every storage an operator
  allocates and frees: the peak of live bytes during forward + backward,
  with the gradients already allocated (as from step 2 on). This sees
  what autograd saves (MAE's encoder on the visible tokens only, the
  decoder on all), the transient buffers of backward, autocast's weight
  copies and, with activation checkpointing (the composable
  ``checkpoint`` per block, as ``apply_fsdp2`` applies it), the block
  inputs plus one block recomputed at a time. Against the CPU allocator's
  own peak in a real step it is 0 to 10 % low (workspaces inside
  kernels, which fake tensors do not see; tests). A GPU runs other
  kernels (CUDA autocast lists, cuBLAS and flash-attention workspaces)
  and its caching allocator fragments: the margin of
  :func:`usable_bytes`.
"""

import contextlib
import copy
import math
import weakref
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from mmmim.engine.strategies.fsdp2_sharding import find_blocks

__all__ = [
    'GPU_MEMORY_MIB',
    'PRECISIONS',
    'Strategy',
    'OptimizerSpec',
    'optimizer_spec',
    'precision_from_config',
    'build_meta_model',
    'input_shape',
    'shard_rows',
    'state_bytes',
    'LiveBytes',
    'simulate_step',
    'training_loss',
    'usable_bytes',
    'largest_batch',
    'plan',
    'format_plan',
]

GIB = 2**30

#: Memory of a card as ``nvidia-smi`` reports its total, in MiB.
GPU_MEMORY_MIB = {
    'A100-40': 40960,
    'A100': 81920,
    'H100': 81559,
    'H200': 143771,
}

#: ``precision`` -> (autocast dtype, parameter dtype in compute).
PRECISIONS = {
    'fp32': (None, torch.float32),
    'bf16-autocast': (torch.bfloat16, torch.float32),
    'fp16-autocast': (torch.float16, torch.float32),
    'bf16-params': (None, torch.bfloat16),
}


@dataclass
class Strategy:
    """How the model is trained across GPUs.

    Args:
        kind (str): ``'ddp'`` or ``'fsdp2'``.
        world_size (int): Number of GPUs.
        checkpointing (bool): Recompute every block in backward.
        precision (str): A key of :data:`PRECISIONS`. ``'bf16-params'``
            is FSDP2's ``MixedPrecisionPolicy(param_dtype=bf16,
            reduce_dtype=fp32)``: fp32 shards, bf16 gathered parameters
            and compute.
        reshard_after_forward (bool): FSDP2 frees the gathered block
            parameters after forward (ZeRO-3); False keeps them to
            backward.
    """

    kind: str = 'ddp'
    world_size: int = 1
    checkpointing: bool = False
    precision: str = 'fp32'
    reshard_after_forward: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ('ddp', 'fsdp2'):
            raise ValueError(f"strategy must be 'ddp' or 'fsdp2': {self.kind}")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f'precision must be one of {sorted(PRECISIONS)}: '
                f'{self.precision!r}'
            )
        if self.precision == 'bf16-params' and self.kind != 'fsdp2':
            raise ValueError(
                'bf16-params is FSDP2 mixed precision (fp32 shards, bf16 '
                'compute); with DDP use bf16-autocast'
            )
        if self.world_size < 1:
            raise ValueError(f'world_size must be >= 1: {self.world_size}')


@dataclass
class OptimizerSpec:
    """What an optimizer allocates per trainable parameter.

    Args:
        name (str): The optimizer type.
        states (int): Tensors shaped like the (local) parameter.
        step_on_device (bool): Whether the per-parameter scalar ``step``
            (4 bytes) lives on the GPU (fused or capturable AdamW) or on
            the host.
        has_step (bool): Whether there is a ``step`` tensor at all.
    """

    name: str
    states: int
    step_on_device: bool = False
    has_step: bool = False


def optimizer_spec(optimizer: dict) -> OptimizerSpec:
    """The states ``optimizer`` (a config dict) allocates.

    torch's Adam/AdamW keep ``exp_avg`` and ``exp_avg_sq`` (and
    ``max_exp_avg_sq`` with ``amsgrad``) like each parameter and a scalar
    ``step``, on the parameter's device when fused or capturable; SGD and
    mmpretrain's LARS keep a momentum buffer when ``momentum`` is set.

    Raises:
        ValueError: For an optimizer whose states are not known here.
    """
    name = str(optimizer.get('type', 'AdamW')).split('.')[-1]
    if name in ('AdamW', 'Adam'):
        on_device = bool(optimizer.get('fused') or optimizer.get('capturable'))
        states = 3 if optimizer.get('amsgrad') else 2
        return OptimizerSpec(name, states, on_device, True)
    if name in ('SGD', 'LARS'):
        return OptimizerSpec(name, 1 if optimizer.get('momentum') else 0)
    raise ValueError(
        f'unknown optimizer {name!r}: give its states per parameter '
        '(e.g. --cfg-options for AdamW/SGD)'
    )


def precision_from_config(cfg) -> str:
    """``'bf16-autocast'`` / ``'fp16-autocast'`` for the autocast and AMP
    optimizer wrappers of a config, else ``'fp32'``."""
    wrapper = cfg.get('optim_wrapper', {})
    kind = str(wrapper.get('type', 'OptimWrapper')).split('.')[-1]
    if kind == 'AutocastOptimWrapper':
        dtype = wrapper.get('dtype', 'bfloat16')
    elif kind == 'AmpOptimWrapper':
        dtype = wrapper.get('dtype') or 'float16'
    else:
        return 'fp32'
    return 'bf16-autocast' if 'bf' in str(dtype) else 'fp16-autocast'


@contextlib.contextmanager
def _params_on_meta():
    # Every parameter and buffer goes to `meta` as it is registered, so
    # the initialisers that run next touch no memory; other tensors (mask
    # tables, drop-path rates read back with `tolist`) stay real.
    register_param = nn.Module.register_parameter
    register_buffer = nn.Module.register_buffer

    def param_on_meta(module, name, param):
        if param is not None and param.device.type != 'meta':
            param = nn.Parameter(
                param.to('meta'), requires_grad=param.requires_grad
            )
        register_param(module, name, param)

    def buffer_on_meta(module, name, tensor, persistent=True):
        if tensor is not None:
            tensor = tensor.to('meta')
        register_buffer(module, name, tensor, persistent)

    nn.Module.register_parameter = param_on_meta
    nn.Module.register_buffer = buffer_on_meta
    try:
        yield
    finally:
        nn.Module.register_parameter = register_param
        nn.Module.register_buffer = register_buffer


def build_meta_model(cfg) -> nn.Module:
    """Build ``cfg.model`` with parameters and buffers on ``meta``, in
    train mode (frozen parts as the model freezes them)."""
    from mmengine.registry import MODELS, DefaultScope

    from mmmim.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    scope = cfg.get('default_scope', 'mmmim')
    with DefaultScope.overwrite_default_scope(scope), _params_on_meta():
        model = MODELS.build(cfg.model)
    return model.train()


def input_shape(model: nn.Module) -> Tuple[int, ...]:
    """``(C, H, W)`` or ``(C, T, H, W)`` the backbone is built for."""
    backbone = getattr(model, 'backbone', model)
    grid = getattr(backbone, 'grid_size', None)
    proj = getattr(getattr(backbone, 'patch_embed', None), 'proj', None)
    channels = getattr(proj, 'in_channels', 3)
    kernel = getattr(proj, 'kernel_size', None)
    if grid is not None and kernel is not None and len(grid) == 3:
        return (channels, *(g * k for g, k in zip(grid, kernel)))
    patch = getattr(backbone, 'patch_size', None)
    if grid is not None and isinstance(patch, int):
        return (channels, grid[0] * patch, grid[1] * patch)
    size = getattr(backbone, 'img_size', 224)
    size = (size, size) if isinstance(size, int) else tuple(size)[:2]
    return (channels, *size)


def shard_rows(dim0: int, world_size: int, rank: int) -> Tuple[int, int]:
    """The rows of a ``dim0``-row parameter that FSDP2 gives ``rank``.

    FSDP2 chunks dim 0 as ``torch.chunk`` does (``ceil(dim0 / W)`` rows
    per chunk, the last ones shorter or empty) and pads every rank's
    storage to the first chunk's size.

    Returns:
        Tuple[int, int]: ``(padded, local)`` rows: stored, and real.
    """
    padded = math.ceil(dim0 / world_size)
    local = max(0, min(padded, dim0 - rank * padded))
    return padded, local


def _numel(shape: Sequence[int], rows: Optional[int] = None) -> int:
    if not shape:
        return 1
    return (shape[0] if rows is None else rows) * math.prod(shape[1:])


def _units(model: nn.Module) -> List[List[nn.Parameter]]:
    """Parameters per FSDP2 unit, as ``apply_fsdp2`` makes them: one per
    block, then the root with everything else (the root last)."""
    units, seen = [], set()
    for block in find_blocks(model):
        params = [p for p in block.parameters() if id(p) not in seen]
        seen.update(id(p) for p in params)
        units.append(params)
    root = [p for p in model.parameters() if id(p) not in seen]
    return units + [root]


def state_bytes(
    model: nn.Module,
    strategy: Strategy,
    optimizer: OptimizerSpec,
    rank: int = 0,
    bucket_view: bool = False,
) -> Dict[str, int]:
    """Bytes that one GPU holds for the model's state.

    Args:
        model (nn.Module): The model (on ``meta`` is enough).
        strategy (Strategy): DDP or FSDP2, world size, precision.
        optimizer (OptimizerSpec): The optimizer's states.
        rank (int): The rank (FSDP2's last ranks may hold fewer real rows
            and hence smaller optimizer states). Defaults to 0.
        bucket_view (bool): DDP's ``gradient_as_bucket_view``: the
            gradients are views of the buckets, not a second copy.
            Defaults to False (as in mmengine's wrapper).

    Returns:
        dict: ``params``, ``grads``, ``optimizer`` (on the GPU),
        ``optimizer_host`` (``step`` tensors on the host), ``buckets``
        (DDP) and ``gathered`` (FSDP2's transiently unsharded
        parameters and one reduce-scatter input), all in bytes.
    """
    world = strategy.world_size if strategy.kind == 'fsdp2' else 1
    compute = PRECISIONS[strategy.precision][1]
    out = dict.fromkeys(
        ('params', 'grads', 'optimizer', 'optimizer_host', 'buckets'), 0
    )
    gathered_bytes = torch.empty(0, dtype=compute).element_size()
    units = []  # (gathered bytes, reduce-scatter input bytes) per unit
    for unit in _units(model):
        gathered = reduce_input = 0
        for param in unit:
            size = param.element_size()
            rows = param.shape[0] if param.dim() else 1
            padded, local = shard_rows(rows, world, rank)
            out['params'] += _numel(param.shape, padded) * size
            gathered += _numel(param.shape, padded * world) * gathered_bytes
            if not param.requires_grad:
                continue
            out['grads'] += _numel(param.shape, padded) * size
            reduce_input += _numel(param.shape, padded * world) * size
            out['optimizer'] += (
                optimizer.states * _numel(param.shape, local) * size
            )
            if optimizer.has_step:  # one fp32 scalar per parameter
                on_device = optimizer.step_on_device
                out['optimizer' if on_device else 'optimizer_host'] += 4
        units.append((gathered, reduce_input))
    if strategy.kind == 'ddp':
        # One process is not wrapped in DDP (no launcher): no buckets.
        copies = strategy.world_size > 1 and not bucket_view
        out['buckets'] = out['grads'] if copies else 0
        out['gathered'] = 0
        return out
    *blocks, root = units
    # The root unit is gathered from the first forward hook to the end of
    # backward. With resharding, blocks are gathered one at a time in
    # forward and two in backward (the running one and the prefetched
    # one); without, every block stays gathered from its forward to its
    # backward. Plus the reduce-scatter input of one unit (its padded,
    # unsharded gradients in the reduce dtype).
    block_sizes = [b[0] for b in blocks] or [0]
    if strategy.reshard_after_forward:
        held = 2 * max(block_sizes)
    else:
        held = sum(block_sizes)
    out['gathered'] = root[0] + held + max(u[1] for u in units)
    return out


class LiveBytes(TorchDispatchMode):
    """Count the bytes of live tensor storages that operators allocate.

    An output storage that aliases no input (a new allocation) is counted
    until the garbage collector drops its last reference; views and
    in-place results are not counted again. ``peak`` is the highest
    ``live`` seen. Works on real, meta and fake tensors.
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._ids: Dict[int, int] = {}

    def _free(self, key: int) -> None:
        self.live -= self._ids.pop(key, 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {
            id(t.untyped_storage())
            for t in tree_flatten((args, kwargs))[0]
            if isinstance(t, torch.Tensor)
        }
        for tensor in tree_flatten(out)[0]:
            if not isinstance(tensor, torch.Tensor):
                continue
            storage = tensor.untyped_storage()
            key = id(storage)
            if key in inputs or key in self._ids:
                continue
            self._ids[key] = storage.nbytes()
            self.live += self._ids[key]
            self.peak = max(self.peak, self.live)
            weakref.finalize(storage, self._free, key)
        return out


def _fake_state(model: nn.Module, dtype: torch.dtype) -> None:
    # Parameters (in the compute dtype) and buffers as fresh fake CPU
    # tensors, created in the caller's FakeTensorMode.
    for module in model.modules():
        for name, param in module._parameters.items():
            if param is not None:
                module._parameters[name] = nn.Parameter(
                    torch.empty(param.shape, dtype=dtype),
                    requires_grad=param.requires_grad,
                )
        for name, buf in module._buffers.items():
            if buf is not None:
                module._buffers[name] = torch.empty(buf.shape, dtype=buf.dtype)


def training_loss(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The training loss of a masked image model or a classifier."""
    if hasattr(model, 'reconstruct'):
        losses = model.loss(inputs)
    else:
        from mmpretrain.structures import DataSample

        # Soft targets, as the fine-tuning recipes' mixup / cutmix make
        # them (hard labels would be checked against the class count with
        # a read-back that fake tensors cannot answer).
        scores = torch.zeros(model.head.num_classes)
        samples = [
            DataSample().set_gt_score(scores) for _ in range(len(inputs))
        ]
        losses = model.loss(inputs, samples)
    return sum(v for k, v in losses.items() if 'loss' in k)


def checkpoint_blocks(model: nn.Module) -> None:
    """Activation checkpointing as ``apply_fsdp2`` applies it: the
    composable ``checkpoint`` on every block."""
    from torch.distributed._composable import checkpoint

    for block in find_blocks(model):
        checkpoint(block)


@dataclass
class StepBytes:
    """Activation bytes of one simulated step."""

    batch: int
    saved: int  # live at the end of forward
    peak: int  # the highest live during forward + backward


def simulate_step(
    model: nn.Module,
    batch: int,
    strategy: Strategy,
    shape: Optional[Tuple[int, ...]] = None,
    loss_fn: Callable[[nn.Module, torch.Tensor], torch.Tensor] = training_loss,
) -> StepBytes:
    """Run one training step of ``model`` on fake tensors and count the
    activation bytes (see the module docstring).

    Args:
        model (nn.Module): The model, e.g. from :func:`build_meta_model`;
            a copy is used.
        batch (int): Samples per GPU.
        strategy (Strategy): Checkpointing and precision.
        shape (Tuple[int, ...], optional): One sample, ``(C, H, W)`` or
            ``(C, T, H, W)``. Defaults to :func:`input_shape`.
        loss_fn (callable): ``loss_fn(model, inputs)`` -> scalar loss.

    Returns:
        StepBytes: Bytes live at the end of forward and the peak.
    """
    from torch._subclasses.fake_tensor import FakeTensorMode

    shape = shape or input_shape(model)
    autocast, compute = PRECISIONS[strategy.precision]
    model = copy.deepcopy(model)
    with FakeTensorMode(allow_non_fake_inputs=True):
        _fake_state(model, compute)
        if strategy.checkpointing:
            checkpoint_blocks(model)
        for param in model.parameters():
            if param.requires_grad:
                param.grad = torch.zeros_like(param)
        inputs = torch.randn(batch, *shape, dtype=compute)
        live = LiveBytes()
        with live:
            with torch.autocast(
                'cpu', dtype=autocast or torch.bfloat16, enabled=bool(autocast)
            ):
                loss = loss_fn(model, inputs)
            saved = live.live
            loss.backward()
            del loss
    return StepBytes(batch, saved, live.peak)


def usable_bytes(
    gpu_gib: float, context_gib: float = 1.0, fragmentation: float = 0.1
) -> int:
    """Bytes a training process can allocate on a card.

    Args:
        gpu_gib (float): The card's memory in GiB.
        context_gib (float): The CUDA context, NCCL and cuBLAS workspaces
            outside PyTorch's allocator. Defaults to 1.
        fragmentation (float): The fraction of the rest the caching
            allocator loses to fragmentation. Defaults to 0.1.
    """
    return int((gpu_gib - context_gib) * (1 - fragmentation) * GIB)


def largest_batch(
    budget: int, static: int, fixed: int, per_sample: int
) -> int:
    """The largest per-GPU batch ``B`` with
    ``static + fixed + B * per_sample <= budget`` (0 if none fits).

    Args:
        budget (int): Usable bytes (:func:`usable_bytes`).
        static (int): Parameters, gradients, optimizer states, buckets and
            gathered parameters.
        fixed (int): Activation bytes that do not grow with the batch.
        per_sample (int): Activation bytes per sample.
    """
    if per_sample <= 0:
        raise ValueError(f'per_sample must be positive: {per_sample}')
    return max(0, (budget - static - fixed) // per_sample)


@dataclass
class Plan:
    """The memory of one GPU for a config, strategy and batch."""

    strategy: Strategy
    optimizer: OptimizerSpec
    batch: int
    shape: Tuple[int, ...]
    num_params: int
    num_trainable: int
    state: Dict[str, int]
    step: StepBytes
    per_sample: int
    fixed: int
    budget: Optional[int] = None
    max_batch: Optional[int] = None
    notes: List[str] = field(default_factory=list)

    @property
    def static(self) -> int:
        keys = ('params', 'grads', 'optimizer', 'buckets', 'gathered')
        return sum(self.state[k] for k in keys)

    @property
    def total(self) -> int:
        return self.static + self.step.peak


def plan(
    model: nn.Module,
    strategy: Strategy,
    optimizer: OptimizerSpec,
    batch: int,
    budget: Optional[int] = None,
    bucket_view: bool = False,
    shape: Optional[Tuple[int, ...]] = None,
) -> Plan:
    """Plan one GPU: state bytes, activations at ``batch`` and, with a
    ``budget``, the largest batch (activations are simulated at 1 and 2
    samples for the slope, and the answer is checked by simulating it)."""
    shape = shape or input_shape(model)
    state = state_bytes(model, strategy, optimizer, 0, bucket_view)
    one = simulate_step(model, 1, strategy, shape)
    two = simulate_step(model, 2, strategy, shape)
    per_sample = max(two.peak - one.peak, 1)
    fixed = one.peak - per_sample
    step = one if batch == 1 else simulate_step(model, batch, strategy, shape)
    params = list(model.parameters())
    result = Plan(
        strategy,
        optimizer,
        batch,
        shape,
        sum(p.numel() for p in params),
        sum(p.numel() for p in params if p.requires_grad),
        state,
        step,
        per_sample,
        fixed,
        budget,
    )
    if budget is not None:
        best = largest_batch(budget, result.static, fixed, per_sample)
        # Activations are linear in the batch up to allocator effects;
        # confirm the answer with its own simulation.
        while best > 0:
            peak = simulate_step(model, best, strategy, shape).peak
            if result.static + peak <= budget:
                break
            best -= max(1, (result.static + peak - budget) // per_sample)
        result.max_batch = best
    return result


def _gib(value: int) -> str:
    return f'{value / GIB:9.2f}{value:>17,d}'


def format_plan(result: Plan, title: str = '') -> str:
    """The plan as a plain-text table in GiB per GPU."""
    s, state = result.strategy, result.state
    shard = 'shards' if s.kind == 'fsdp2' else 'full copy'
    opt = result.optimizer
    where = 'GPU' if opt.step_on_device else 'host'
    extras = [s.precision]
    if s.checkpointing:
        extras.append('activation checkpointing')
    lines = [
        title,
        f'{s.kind} on {s.world_size} GPU(s), {", ".join(extras)}; '
        f'{opt.name}: {opt.states} states per parameter'
        + (f', step on the {where}' if opt.has_step else ''),
        f'{result.num_params / 1e6:.1f} M parameters '
        f'({result.num_trainable / 1e6:.1f} M trained); per-GPU batch '
        f'{result.batch} of {tuple(result.shape)}',
        f'{"":44s}{"GiB/GPU":>9s}{"bytes/GPU":>17s}',
        f'{"parameters (fp32 " + shard + ")":44s}{_gib(state["params"])}',
        f'{"gradients (fp32 " + shard + ")":44s}{_gib(state["grads"])}',
        f'{"optimizer states":44s}{_gib(state["optimizer"])}',
    ]
    if s.kind == 'ddp':
        lines.append(f'{"DDP gradient buckets":44s}{_gib(state["buckets"])}')
    else:
        lines.append(
            f'{"FSDP2 gathered parameters (transient)":44s}'
            f'{_gib(state["gathered"])}'
        )
    lines += [
        f'{"activations (peak of forward + backward)":44s}'
        f'{_gib(result.step.peak)}',
        f'{"  saved at the end of forward":44s}{_gib(result.step.saved)}',
        f'{"total":44s}{_gib(result.total)}',
        f'activations: {result.per_sample / 2**20:.1f} MiB per sample + '
        f'{result.fixed / 2**20:.1f} MiB',
    ]
    if result.budget is not None:
        lines.append(
            f'usable {result.budget / GIB:.2f} GiB per GPU: largest '
            f'per-GPU batch {result.max_batch}'
        )
    return '\n'.join(line for line in lines if line)
