# Copyright (c) mmmim contributors. All rights reserved.
"""What ``benchmark.py`` runs: a method module's comparisons, timed side
by side, and their report.

A method module ``benchmark_<method>.py`` (next to ``benchmark.py``)
provides::

    SIZES: Sequence[str]      # the --size values it accepts
    UNIT: str                 # 'img' or 'clip' (optional, default 'img')

    def comparisons(size: str, batch: int, setting: Setting
                    ) -> List[Comparison]: ...

where ``setting`` says which AdamW and autocast each side uses (see
:class:`Setting`). Each :class:`Comparison` pairs a reference
:class:`Spec` (the baseline, e.g. mmpretrain's model) with an mmmim
candidate. Models are built lazily, one comparison at a time.
"""

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mim_flops import achieved_tflops, mfu

#: Largest relative difference of the first losses of two sides sharing
#: weights (bf16 against fp32 included) that the report accepts.
LOSS_TOLERANCE = 1e-2

# (AdamW kind: 'default' | 'foreach' | 'forloop' | 'fused',
#  autocast dtype or None for fp32)
Recipe = Tuple[str, Optional[torch.dtype]]


@dataclass
class Setting:
    """The recipes of both sides in one benchmark setting.

    Args:
        name (str): E.g. ``'default'``, ``'equal-fp32'``.
        reference (Recipe): AdamW kind and autocast dtype of the baseline.
        mmmim (Recipe): AdamW kind and autocast dtype of mmmim.
    """

    name: str
    reference: Recipe
    mmmim: Recipe


@dataclass
class Spec:
    """One side of a comparison.

    Args:
        name (str): Shown in the report.
        build (Callable[[], torch.nn.Module]): Builds the model.
        loss_fn (Callable): ``loss_fn(model, inputs) -> scalar loss``.
        inputs (Callable[[int], torch.Tensor]): ``inputs(batch)`` builds
            one fixed, seeded CPU batch.
        flops_per_sample (float): Training FLOPs per sample (3 forward
            passes, see ``mim_flops.py``).
        recipe (Recipe): AdamW kind and autocast dtype.
    """

    name: str
    build: Callable[[], torch.nn.Module]
    loss_fn: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]
    inputs: Callable[[int], torch.Tensor]
    flops_per_sample: float
    recipe: Recipe = ('fused', None)


@dataclass
class Comparison:
    """A reference and an mmmim candidate timed side by side.

    Args:
        title (str): Heading of the report.
        reference (Spec): The baseline.
        candidate (Spec): mmmim.
        share_weights (bool): Start the candidate from the reference's
            weights (same architecture); the report then compares their
            first losses on the same batch and masks. Defaults to False.
    """

    title: str
    reference: Spec
    candidate: Spec
    share_weights: bool = False


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
    precision = {torch.bfloat16: 'bf16', torch.float16: 'fp16'}.get(
        amp, 'fp32'
    )
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
        compile_cfg: Optional[dict] = None,
    ) -> None:
        self.spec, self.name = spec, spec.name
        self.model = model.to(device).train()
        self.device = device
        kind, self.amp_dtype = spec.recipe
        self.optimizer = make_optimizer(self.model, kind)
        self.loss_fn = spec.loss_fn
        self.compiled = compile_cfg is not None
        if self.compiled:
            # As ``compile=True`` in a config: the loss is compiled, the
            # backward graph with it; the optimizer step stays eager.
            self.model.loss = torch.compile(self.model.loss, **compile_cfg)
            self.name += ' + compile'
        # fp16 needs loss scaling (as mmengine's AmpOptimWrapper does).
        self.scaler = (
            torch.amp.GradScaler(device.type)
            if self.amp_dtype == torch.float16
            else None
        )
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
            return float(self.loss_fn(self.model, inputs))

    def _forward_backward(self, inputs: torch.Tensor) -> None:
        if self.device.type == 'cuda' or self.compiled:
            with self._autocast():
                loss = self.loss_fn(self.model, inputs)
        else:  # saved activations: the CPU's memory figure
            saved = []

            def pack(tensor):
                saved.append(tensor.numel() * tensor.element_size())
                return tensor

            with (
                torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
                self._autocast(),
            ):
                loss = self.loss_fn(self.model, inputs)
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
            t_fb, t_opt = self._cuda_step(inputs)
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

    def _cuda_step(self, inputs: torch.Tensor) -> Tuple[float, float]:
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
        return (
            events[0].elapsed_time(events[1]),
            events[1].elapsed_time(events[2]),
        )


@dataclass
class Result:
    """Timings of one comparison."""

    comparison: Comparison
    candidates: Tuple[Candidate, Candidate]
    batch: int
    ratios: List[float] = field(default_factory=list)
    losses: Dict[str, float] = field(default_factory=dict)
    other_static: Dict[str, int] = field(default_factory=dict)


def run(
    comparison: Comparison,
    batch: int,
    pairs: int,
    warmup: int,
    device: torch.device,
    compile_cfg: Optional[dict] = None,
) -> Result:
    """Time a comparison: warm-up, then ``pairs`` interleaved ABBA pairs
    with ``torch.manual_seed(2000 + pair)`` before each step.

    Args:
        comparison (Comparison): What to time.
        batch (int): Samples per step.
        pairs (int): Timed pairs.
        warmup (int): Untimed steps per side (compilation included).
        device (torch.device): Where to run.
        compile_cfg (dict, optional): ``torch.compile`` options for the
            mmmim side. Defaults to None (eager).

    Returns:
        Result: Per-step times, paired ratios (reference / mmmim), memory.
    """
    torch.manual_seed(0)
    ref_model = comparison.reference.build()
    torch.manual_seed(0)
    cand_model = comparison.candidate.build()
    if comparison.share_weights:
        cand_model.load_state_dict(ref_model.state_dict())
    reference = Candidate(comparison.reference, ref_model, device)
    ours = Candidate(comparison.candidate, cand_model, device, compile_cfg)
    ref_in = comparison.reference.inputs(batch).to(device)
    our_in = comparison.candidate.inputs(batch).to(device)
    result = Result(comparison, (reference, ours), batch)
    if comparison.share_weights:
        for cand, inputs in ((reference, ref_in), (ours, our_in)):
            torch.manual_seed(1)  # the same masks on both sides
            result.losses[cand.name] = cand.loss(inputs)
    for cand, inputs in ((reference, ref_in), (ours, our_in)):
        begin = time.perf_counter()
        for step in range(warmup):
            cand.step(inputs, 1000 + step, record=False)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        cand.warmup_s = time.perf_counter() - begin
    for pair in range(pairs):
        order = [(reference, ref_in), (ours, our_in)]
        times = {
            c.name: c.step(x, 2000 + pair, record=True)
            for c, x in (order if pair % 2 == 0 else order[::-1])
        }
        result.ratios.append(times[reference.name] / times[ours.name])
    # The other model's weights and optimizer states are resident while
    # one side steps; subtracted to estimate each side's own peak.
    result.other_static = {
        reference.name: ours.static_bytes(),
        ours.name: reference.static_bytes(),
    }
    return result


def _fmt(value: Optional[float], spec: str, width: int) -> str:
    return f'{"n/a":>{width}s}' if value is None else f'{value:{width}{spec}}'


def _percent(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value * 100:.1f}%'


def report(result: Result, peak_tflops: Optional[float], unit: str) -> dict:
    """Print one comparison and return its numbers.

    Args:
        result (Result): From :func:`run`.
        peak_tflops (float, optional): The device's peak for the MFU.
        unit (str): ``'img'`` or ``'clip'``.

    Returns:
        dict: Per side: step ms, samples/s, TFLOP/s, MFU, memory MiB; and
        the median paired speed-up.
    """
    cuda = result.candidates[0].device.type == 'cuda'
    memory = 'peak MiB' if cuda else 'saved MiB'
    print(f'\n== {result.comparison.title} ==')
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
        tflops = achieved_tflops(
            cand.spec.flops_per_sample, result.batch, median
        )
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
            f'{statistics.median(cand.opt):8.1f} {rate:8.2f} '
            f'{tflops:8.3f} {_percent(util):>6s} '
            f'{_fmt(mib, ".0f", 10)} {cand.warmup_s:9.1f}'
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
