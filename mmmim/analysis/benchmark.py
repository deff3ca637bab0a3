# Copyright (c) mmmim contributors. All rights reserved.
"""Training steps of mmmim and a reference implementation, timed side by
side in one process (``tools/analysis_tools/benchmark.py``).

A :class:`Comparison` pairs a reference :class:`Spec` (the baseline, e.g.
mmpretrain's model) with an mmmim candidate; a :class:`Setting` says which
AdamW and autocast each side uses. Models are built lazily, one comparison
at a time. The comparisons of each method are in
:mod:`mmmim.analysis.benchmark_methods`.
"""

import contextlib
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import torch

from .flops import achieved_tflops, device_peak_tflops, mfu

#: Largest relative difference of the first losses of two sides sharing
#: weights (bf16 against fp32 included) that the report accepts.
LOSS_TOLERANCE = 1e-2

# (AdamW kind: 'default' | 'foreach' | 'forloop' | 'fused',
#  autocast dtype or None for fp32)
Recipe = Tuple[str, Optional[torch.dtype]]
PRECISIONS = {torch.bfloat16: 'bf16', torch.float16: 'fp16'}


@dataclass
class Setting:
    """The recipes of the reference and of mmmim in one setting."""

    name: str
    reference: Recipe
    mmmim: Recipe


@dataclass
class Spec:
    """One side of a comparison: ``build()`` makes the model,
    ``loss_fn(model, inputs)`` returns its scalar loss, ``inputs(batch)``
    one fixed, seeded CPU batch; training FLOPs per sample from
    :mod:`mmmim.analysis.flops`. The report shows the name with the recipe.
    """

    name: str
    build: Callable[[], torch.nn.Module]
    loss_fn: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]
    inputs: Callable[[int], torch.Tensor]
    flops_per_sample: float


@dataclass
class Comparison:
    """A reference and an mmmim candidate timed side by side; with
    ``share_weights`` the candidate starts from the reference's weights
    (same architecture) and the report compares their first losses on the
    same batch and masks."""

    title: str
    reference: Spec
    candidate: Spec
    share_weights: bool = False


SETTING_NAMES = ('default', 'equal-fp32', 'equal-bf16')


def settings_for(device: torch.device) -> Dict[str, Setting]:
    """``default`` (each library's recipe), ``equal-fp32``, ``equal-bf16``.

    mmpretrain's default recipe is fp16 AMP with torch's default AdamW
    (foreach on CUDA); on a CPU its AmpOptimWrapper cannot start: fp32.
    """
    bf16 = torch.bfloat16
    reference_amp = torch.float16 if device.type == 'cuda' else None
    return {
        'default': Setting(
            'default', ('default', reference_amp), ('fused', bf16)
        ),
        'equal-fp32': Setting('equal-fp32', ('fused', None), ('fused', None)),
        'equal-bf16': Setting('equal-bf16', ('fused', bf16), ('fused', bf16)),
    }


def peak_for(device: torch.device, given: Optional[float]) -> Optional[float]:
    """``--peak-tflops``, else the listed peak of the GPU, else None."""
    if given:
        return given
    if device.type == 'cuda':
        return device_peak_tflops(torch.cuda.get_device_name(device))
    return None


def make_optimizer(model: torch.nn.Module, kind: str) -> torch.optim.Optimizer:
    """AdamW as in the MAE recipe; ``kind`` picks the implementation
    (``'default'`` lets torch choose, as mmengine's registry does)."""
    params = [p for p in model.parameters() if p.requires_grad]
    extra = dict(fused=True) if kind == 'fused' else {}
    if kind in ('foreach', 'forloop'):
        extra = dict(foreach=kind == 'foreach')
    return torch.optim.AdamW(
        params, lr=1.5e-4, betas=(0.9, 0.95), weight_decay=0.05, **extra
    )


def label(impl: str, recipe: Recipe) -> str:
    """``'impl (bf16, fused AdamW)'``."""
    kind, amp = recipe
    precision = PRECISIONS.get(amp, 'fp32')
    return f'{impl} ({precision}, {kind} AdamW)'


def _nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


class Candidate:
    """A built :class:`Spec` with its optimizer, timed step by step.

    On a CPU each part of a step is timed with CPU process time (the
    protocol for shared machines); on CUDA with events recorded around
    the forward/backward pass and the optimizer step, synchronised once
    at the end of the step.
    """

    def __init__(
        self,
        spec: Spec,
        model: torch.nn.Module,
        device: torch.device,
        recipe: Recipe,
        compile_cfg: Optional[dict] = None,
    ) -> None:
        self.spec, self.name = spec, label(spec.name, recipe)
        self.model = model.to(device).train()
        self.device = device
        kind, self.amp_dtype = recipe
        self.optimizer = make_optimizer(self.model, kind)
        self.compiled = compile_cfg is not None
        if self.compiled:
            # As ``compile=True`` in a config: the loss is compiled, the
            # backward graph with it; the optimizer step stays eager.
            self.model.loss = torch.compile(self.model.loss, **compile_cfg)
            self.name += ' + compile'
        # fp16 needs loss scaling (as mmengine's AmpOptimWrapper does).
        self.scaler = None
        if self.amp_dtype == torch.float16:
            self.scaler = torch.amp.GradScaler(device.type)
        self.fwd_bwd: List[float] = []
        self.opt: List[float] = []
        self.saved_bytes: Optional[int] = None
        self.peak_bytes: Optional[int] = None
        self.warmup_s = 0.0

    def static_bytes(self) -> int:
        """Weights, gradients and optimizer states held between steps."""
        params = list(self.model.parameters())
        grads = [p.grad for p in params if p.grad is not None]
        states = [
            v
            for s in self.optimizer.state.values()
            for v in s.values()
            if torch.is_tensor(v)
        ]
        return _nbytes(params) + _nbytes(grads) + _nbytes(states)

    def _autocast(self):
        return torch.autocast(
            self.device.type,
            dtype=self.amp_dtype,
            enabled=self.amp_dtype is not None,
        )

    def loss(self, inputs: torch.Tensor) -> float:
        """The loss without a gradient (for the shared-weights check)."""
        with torch.no_grad(), self._autocast():
            return float(self.spec.loss_fn(self.model, inputs))

    def _forward_backward(self, inputs: torch.Tensor) -> None:
        saved, measure = [], self.device.type != 'cuda' and not self.compiled

        def pack(tensor):  # saved activations: the CPU's memory figure
            saved.append(tensor.numel() * tensor.element_size())
            return tensor

        hooks = contextlib.nullcontext()
        if measure:
            hooks = torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t)
        with hooks, self._autocast():
            loss = self.spec.loss_fn(self.model, inputs)
        if measure:
            self.saved_bytes = sum(saved)
        if self.scaler is not None:
            loss = self.scaler.scale(loss)
        loss.backward()

    def _optimizer_step(self) -> None:
        if self.scaler is None:
            self.optimizer.step()
        else:
            self.scaler.step(self.optimizer)
            self.scaler.update()

    def step(self, inputs: torch.Tensor, seed: int, record: bool) -> float:
        """One seeded training step; returns its time in ms."""
        torch.manual_seed(seed)
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == 'cuda':
            events = [torch.cuda.Event(enable_timing=True) for _ in range(3)]
            torch.cuda.reset_peak_memory_stats(self.device)
            events[0].record()
            self._forward_backward(inputs)
            events[1].record()
            self._optimizer_step()
            events[2].record()
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
            self.peak_bytes = max(self.peak_bytes or 0, peak)
            t_fb = events[0].elapsed_time(events[1])
            t_opt = events[1].elapsed_time(events[2])
        else:
            begin = time.process_time()
            self._forward_backward(inputs)
            middle = time.process_time()
            self._optimizer_step()
            end = time.process_time()
            t_fb, t_opt = (middle - begin) * 1e3, (end - middle) * 1e3
        if record:
            self.fwd_bwd.append(t_fb)
            self.opt.append(t_opt)
        return t_fb + t_opt


@dataclass
class Result:
    """Timings of one comparison."""

    title: str
    candidates: Tuple[Candidate, Candidate]
    batch: int
    ratios: List[float] = field(default_factory=list)
    losses: Dict[str, float] = field(default_factory=dict)
    other_static: Dict[str, int] = field(default_factory=dict)
    #: Each side's batch (on the device), for :func:`profile_step`.
    inputs: Tuple[torch.Tensor, ...] = ()


def run(
    comparison: Comparison,
    batch: int,
    pairs: int,
    warmup: int,
    device: torch.device,
    setting: Optional[Setting] = None,
    compile_cfg: Optional[dict] = None,
) -> Result:
    """Time a comparison: ``warmup`` untimed steps per side (compilation
    included), then ``pairs`` interleaved ABBA pairs with
    ``torch.manual_seed(2000 + pair)`` before each step of ``batch``
    samples. ``setting`` (named in the title) defaults to fp32 and fused
    AdamW for both sides; ``compile_cfg`` are ``torch.compile`` options for
    the mmmim side (None: eager). Returns per-step times, paired ratios
    (reference / mmmim) and memory.
    """
    setting = setting or Setting('', ('fused', None), ('fused', None))
    torch.manual_seed(0)
    ref_model = comparison.reference.build()
    torch.manual_seed(0)
    cand_model = comparison.candidate.build()
    if comparison.share_weights:
        cand_model.load_state_dict(ref_model.state_dict())
    reference = Candidate(
        comparison.reference, ref_model, device, setting.reference
    )
    ours = Candidate(
        comparison.candidate, cand_model, device, setting.mmmim, compile_cfg
    )
    sides = [
        (reference, comparison.reference.inputs(batch).to(device)),
        (ours, comparison.candidate.inputs(batch).to(device)),
    ]
    title = ', '.join(filter(None, (comparison.title, setting.name)))
    result = Result(title, (reference, ours), batch)
    result.inputs = tuple(inputs for _, inputs in sides)
    if comparison.share_weights:
        for cand, inputs in sides:
            torch.manual_seed(1)  # the same masks on both sides
            result.losses[cand.name] = cand.loss(inputs)
    for cand, inputs in sides:
        begin = time.perf_counter()
        for step in range(warmup):
            cand.step(inputs, 1000 + step, record=False)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        cand.warmup_s = time.perf_counter() - begin
    for pair in range(pairs):
        times = {
            c.name: c.step(x, 2000 + pair, record=True)
            for c, x in (sides if pair % 2 == 0 else sides[::-1])
        }
        result.ratios.append(times[reference.name] / times[ours.name])
    # The other model's weights and optimizer states are resident while
    # one side steps; subtracted to estimate each side's own peak.
    result.other_static = {
        reference.name: ours.static_bytes(),
        ours.name: reference.static_bytes(),
    }
    return result


def profile_step(candidate: Candidate, inputs: torch.Tensor, rows: int) -> str:
    """One training step of ``candidate`` under ``torch.profiler``: the
    ``rows`` operators and kernels with the most own time (device time on
    CUDA, CPU time otherwise), as the profiler's table."""
    from torch.profiler import ProfilerActivity, profile

    cuda = candidate.device.type == 'cuda'
    activities = [ProfilerActivity.CPU]
    if cuda:
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        candidate.step(inputs, 3000, record=False)
        if cuda:
            torch.cuda.synchronize(candidate.device)
    key = 'self_device_time_total' if cuda else 'self_cpu_time_total'
    return prof.key_averages().table(sort_by=key, row_limit=rows)


def report(result: Result, peak_tflops: Optional[float], unit: str) -> dict:
    """Print one comparison (``unit``: ``'img'`` or ``'clip'``; the MFU
    needs ``peak_tflops``) and return its numbers: per side step ms,
    samples/s, TFLOP/s, MFU and memory MiB, and the median speed-up."""
    cuda = result.candidates[0].device.type == 'cuda'
    memory = 'peak MiB' if cuda else 'saved MiB'
    print(f'\n== {result.title} ==')
    print(
        f'{"implementation":48s} {"step ms":>9s} {"IQR":>7s} '
        f'{"fwd+bwd":>9s} {"opt":>8s} {unit + "/s":>8s} {"TFLOP/s":>8s} '
        f'{"MFU":>6s} {memory:>10s} {"warm-up s":>9s}'
    )
    numbers = {}
    for cand in result.candidates:
        totals = [a + b for a, b in zip(cand.fwd_bwd, cand.opt)]
        median = statistics.median(totals)
        quartiles = statistics.quantiles(totals, n=4)
        flops = cand.spec.flops_per_sample
        tflops = achieved_tflops(flops, result.batch, median)
        util = mfu(tflops, peak_tflops)
        if cuda:
            own = cand.peak_bytes - result.other_static[cand.name]
        else:
            own = cand.saved_bytes
        mib = None if own is None else own / 2**20
        rate = result.batch / median * 1000
        print(
            f'{cand.name:48s} {median:9.1f} '
            f'{quartiles[2] - quartiles[0]:7.1f} '
            f'{statistics.median(cand.fwd_bwd):9.1f} '
            f'{statistics.median(cand.opt):8.1f} {rate:8.2f} {tflops:8.3f} '
            f'{"n/a" if util is None else f"{util * 100:.1f}%":>6s} '
            f'{"n/a" if mib is None else f"{mib:.0f}":>10s} '
            f'{cand.warmup_s:9.1f}'
        )
        numbers[cand.name] = dict(
            step_ms=median, rate=rate, tflops=tflops, mfu=util, mib=mib
        )
    ratios = result.ratios
    speedup = statistics.median(ratios)
    flops = result.candidates[1].spec.flops_per_sample / 1e9
    print(
        f'speed-up of mmmim (median of {len(ratios)} paired ratios, '
        f'reference/mmmim): {speedup:.3f}  [min {min(ratios):.3f}, '
        f'max {max(ratios):.3f}]; mmmim: {flops:.2f} GFLOP per {unit} '
        'per training step'
    )
    if result.losses:
        (ref_loss, our_loss) = result.losses.values()
        diff = abs(our_loss - ref_loss) / abs(ref_loss)
        verdict = 'OK' if diff <= LOSS_TOLERANCE else 'TOO LARGE'
        print(
            f'first loss on shared weights and masks: {ref_loss:.5f} vs '
            f'{our_loss:.5f} (relative difference {diff:.1e}, limit '
            f'{LOSS_TOLERANCE:.0e}: {verdict})'
        )
    numbers['speedup'] = speedup
    return numbers
