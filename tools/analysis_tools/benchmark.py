# Copyright (c) mmmim contributors. All rights reserved.
"""Time MIM training steps of mmmim against a reference implementation,
side by side in one process.

For MAE the reference is mmpretrain 1.2.0's MAE with the same widths, batch
and masking rate. Steps (forward, backward, optimizer) are interleaved ABBA
so that drift cancels; the headline is the median of per-pair time ratios
(reference / mmmim, > 1 means mmmim is faster).

Three settings are reported:
  * ``default``: each implementation with its own default recipe. mmmim:
    bf16 autocast without loss scaling (``AutocastOptimWrapper``) and fused
    AdamW. mmpretrain: its ``AmpOptimWrapper`` recipe (fp16 autocast with a
    GradScaler) on CUDA; on a CPU, where that wrapper refuses to start, fp32
    with torch's default AdamW;
  * ``equal-fp32`` and ``equal-bf16``: both with the same precision and the
    same (fused) AdamW, to show that mmmim's model itself is never slower.

CPU protocol (``reference/performance.md`` section 9): one thread, CPU
process time, fixed input, ``torch.manual_seed(1000 + step)`` before every
step, 3 warm-up steps, >= 8 pairs. On CUDA, CUDA events and bf16 autocast.

``--method convmae`` instead times ConvMAE-B in fp32 against its
channels-last and bf16 paths (``benchmark_convmae.py``); ``--method
simmim`` times mmmim's SimMIM Swin-B and ViT-B against mmpretrain's SimMIM
Swin-B (``benchmark_simmim.py``).

Usage::

    python tools/analysis_tools/benchmark.py [--size B112] [--batch 8]
        [--pairs 8] [--settings default equal] [--device cpu]
    python tools/analysis_tools/benchmark.py --method convmae --size B224
    python tools/analysis_tools/benchmark.py --method simmim --size B112
"""

import argparse
import os
import statistics
import sys
import time
from typing import Callable, List, Optional

import torch

# name: (img, patch, enc dims, enc layers, enc heads, dec dims, dec layers,
#        dec heads)
SIZES = {
    'T224': (224, 16, 192, 12, 3, 256, 4, 8),
    'S224': (224, 16, 384, 12, 6, 256, 4, 8),
    'B112': (112, 16, 768, 12, 12, 512, 8, 16),
    'B224': (224, 16, 768, 12, 12, 512, 8, 16),
    'L224': (224, 16, 1024, 24, 16, 512, 8, 16),
}
MASK_RATIO = 0.75


def build_mmmim_mae(size: str) -> torch.nn.Module:
    from mmmim.models import MAE

    img, patch, dims, layers, heads, ddims, dlayers, dheads = SIZES[size]
    return MAE(
        backbone=dict(
            type='MAEViT',
            arch=dict(
                embed_dims=dims,
                num_layers=layers,
                num_heads=heads,
                feedforward_channels=4 * dims,
            ),
            img_size=img,
            patch_size=patch,
            mask_generator=dict(
                type='RandomMaskGenerator', mask_ratio=MASK_RATIO
            ),
        ),
        neck=dict(
            type='MAEDecoder',
            num_patches=(img // patch) ** 2,
            patch_size=patch,
            embed_dims=dims,
            decoder_embed_dims=ddims,
            decoder_num_layers=dlayers,
            decoder_num_heads=dheads,
        ),
        head=dict(
            type='PixelReconstructionHead', patch_size=patch, norm_pix=True
        ),
    )


def build_mmpretrain_mae(size: str) -> torch.nn.Module:
    from mmpretrain.registry import MODELS
    from mmpretrain.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    img, patch, dims, layers, heads, ddims, dlayers, dheads = SIZES[size]
    return MODELS.build(
        dict(
            type='MAE',
            backbone=dict(
                type='MAEViT',
                arch=dict(
                    embed_dims=dims,
                    num_layers=layers,
                    num_heads=heads,
                    feedforward_channels=4 * dims,
                ),
                img_size=img,
                patch_size=patch,
                mask_ratio=MASK_RATIO,
            ),
            neck=dict(
                type='MAEPretrainDecoder',
                num_patches=(img // patch) ** 2,
                patch_size=patch,
                in_chans=3,
                embed_dim=dims,
                decoder_embed_dim=ddims,
                decoder_depth=dlayers,
                decoder_num_heads=dheads,
                mlp_ratio=4.0,
            ),
            head=dict(
                type='MAEPretrainHead',
                norm_pix=True,
                patch_size=patch,
                loss=dict(type='PixelReconstructionLoss', criterion='L2'),
            ),
            init_cfg=[
                dict(type='Xavier', layer='Linear', distribution='uniform'),
                dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0),
            ],
        )
    )


def mmmim_loss(model: torch.nn.Module, imgs: torch.Tensor) -> torch.Tensor:
    return model.loss(imgs)['loss']


def mmpretrain_loss(
    model: torch.nn.Module, imgs: torch.Tensor
) -> torch.Tensor:
    return model.loss(imgs, [])['loss']


def make_optimizer(model: torch.nn.Module, kind: str) -> torch.optim.Optimizer:
    """AdamW as in the MAE recipe; ``kind`` picks the implementation."""
    params = [p for p in model.parameters() if p.requires_grad]
    extra = (
        dict(fused=True)
        if kind == 'fused'
        else dict(foreach=kind == 'foreach')
        if kind in ('foreach', 'forloop')
        else {}
    )
    return torch.optim.AdamW(
        params, lr=1.5e-4, betas=(0.9, 0.95), weight_decay=0.05, **extra
    )


class Timer:
    """CPU process time, or CUDA events on a GPU."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == 'cuda'

    def __call__(self, fn: Callable[[], None]) -> float:
        if self.cuda:
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end)
        begin = time.process_time()
        fn()
        return (time.process_time() - begin) * 1000


class Candidate:
    """One implementation with its optimizer, timed step by step."""

    def __init__(
        self,
        name: str,
        model: torch.nn.Module,
        loss_fn: Callable,
        optim_kind: str,
        device: torch.device,
        amp_dtype: Optional[torch.dtype],
    ) -> None:
        self.name, self.loss_fn = name, loss_fn
        self.model = model.to(device).train()
        self.optim_kind = optim_kind
        self.optimizer = make_optimizer(self.model, optim_kind)
        self.device, self.amp_dtype = device, amp_dtype
        self.timer = Timer(device)
        self.fwd_bwd: List[float] = []
        self.opt: List[float] = []
        self.saved_bytes = 0
        # fp16 needs loss scaling (as mmengine's AmpOptimWrapper does).
        self.scaler = (
            torch.amp.GradScaler(device.type)
            if amp_dtype == torch.float16
            else None
        )

    def _forward_backward(self, imgs: torch.Tensor) -> None:
        saved = []

        def pack(tensor):
            saved.append(tensor.numel() * tensor.element_size())
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            with torch.autocast(
                self.device.type,
                dtype=self.amp_dtype,
                enabled=self.amp_dtype is not None,
            ):
                loss = self.loss_fn(self.model, imgs)
        if self.scaler is not None:
            loss = self.scaler.scale(loss)
        loss.backward()
        self.saved_bytes = sum(saved)

    def _optimizer_step(self) -> None:
        if self.scaler is None:
            self.optimizer.step()
        else:
            self.scaler.step(self.optimizer)
            self.scaler.update()

    def step(self, imgs: torch.Tensor, seed: int, record: bool) -> float:
        torch.manual_seed(seed)
        self.optimizer.zero_grad(set_to_none=True)
        t_fb = self.timer(lambda: self._forward_backward(imgs))
        t_opt = self.timer(self._optimizer_step)
        if record:
            self.fwd_bwd.append(t_fb)
            self.opt.append(t_opt)
        return t_fb + t_opt


def _quartiles(values: List[float]) -> tuple:
    q = statistics.quantiles(values, n=4)
    return statistics.median(values), q[2] - q[0]


def _label(impl: str, optim_kind: str, amp_dtype) -> str:
    precision = 'fp32' if amp_dtype is None else str(amp_dtype).split('.')[-1]
    return f'{impl} ({precision}, {optim_kind} AdamW)'


def compare(
    size: str,
    batch: int,
    pairs: int,
    warmup: int,
    setting: dict,
    device: torch.device,
) -> dict:
    """Run one interleaved comparison and return its statistics.

    ``setting`` maps 'reference' and 'mmmim' to (AdamW kind, autocast dtype
    or None).
    """
    torch.manual_seed(0)
    kind, amp = setting['reference']
    reference = Candidate(
        _label('mmpretrain', kind, amp),
        build_mmpretrain_mae(size),
        mmpretrain_loss,
        kind,
        device,
        amp,
    )
    torch.manual_seed(0)
    kind, amp = setting['mmmim']
    ours = Candidate(
        _label('mmmim', kind, amp),
        build_mmmim_mae(size),
        mmmim_loss,
        kind,
        device,
        amp,
    )
    img = SIZES[size][0]
    imgs = torch.randn(
        batch, 3, img, img, generator=torch.Generator().manual_seed(0)
    ).to(device)
    for step in range(warmup):
        reference.step(imgs, 1000 + step, record=False)
        ours.step(imgs, 1000 + step, record=False)
    ratios = []
    for pair in range(pairs):
        seed = 2000 + pair
        order = (reference, ours) if pair % 2 == 0 else (ours, reference)
        times = {c.name: c.step(imgs, seed, record=True) for c in order}
        ratios.append(times[reference.name] / times[ours.name])
    return dict(candidates=(reference, ours), ratios=ratios)


def report(title: str, result: dict, batch: int) -> None:
    print(f'\n== {title} ==')
    header = (
        f'{"implementation":40s} {"step ms":>9s} {"IQR":>7s} '
        f'{"fwd+bwd":>9s} {"opt":>8s} {"img/s":>8s} {"saved MiB":>10s}'
    )
    print(header)
    for cand in result['candidates']:
        totals = [a + b for a, b in zip(cand.fwd_bwd, cand.opt)]
        median, iqr = _quartiles(totals)
        print(
            f'{cand.name:42s} {median:9.1f} {iqr:7.1f} '
            f'{statistics.median(cand.fwd_bwd):9.1f} '
            f'{statistics.median(cand.opt):8.1f} '
            f'{batch / median * 1000:8.2f} '
            f'{cand.saved_bytes / 2**20:10.1f}'
        )
    ratios = result['ratios']
    print(
        f'speed-up of mmmim (median of {len(ratios)} paired ratios, '
        f'reference/mmmim): {statistics.median(ratios):.3f}  '
        f'[min {min(ratios):.3f}, max {max(ratios):.3f}]'
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--method', default='mae', choices=['mae', 'convmae', 'simmim']
    )
    parser.add_argument('--size', default='B112', choices=list(SIZES))
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--pairs', type=int, default=8)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--settings',
        nargs='+',
        default=['default', 'equal-fp32', 'equal-bf16'],
        choices=['default', 'equal-fp32', 'equal-bf16'],
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    import mmpretrain
    import timm

    print(
        f'torch {torch.__version__}, timm {timm.__version__}, '
        f'mmpretrain {mmpretrain.__version__}, device {device}, '
        f'threads {args.threads}, size {args.size}, batch {args.batch}, '
        f'TIMM_FUSED_ATTN={os.environ.get("TIMM_FUSED_ATTN", "default")}, '
        f'load average {os.getloadavg()[0]:.2f}'
    )
    if args.method == 'convmae':  # ConvMAE-B vs itself in fp32
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from benchmark_convmae import run

        run(args)
        return
    bf16 = torch.bfloat16
    # mmpretrain's default recipe: fp16 AMP with torch's default AdamW
    # (foreach on CUDA); on CPU its AmpOptimWrapper cannot start: fp32.
    reference_default = (
        'default',
        torch.float16 if device.type == 'cuda' else None,
    )
    settings = {
        'default': dict(reference=reference_default, mmmim=('fused', bf16)),
        'equal-fp32': dict(reference=('fused', None), mmmim=('fused', None)),
        'equal-bf16': dict(reference=('fused', bf16), mmmim=('fused', bf16)),
    }
    if args.method == 'simmim':  # Swin-B and ViT-B vs mmpretrain's Swin
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from benchmark_simmim import run

        run(args, settings)
        sys.stdout.flush()
        return
    for name in args.settings:
        result = compare(
            args.size,
            args.batch,
            args.pairs,
            args.warmup,
            settings[name],
            device,
        )
        report(
            f'{args.method.upper()} {args.size}, {name}', result, args.batch
        )
    sys.stdout.flush()


if __name__ == '__main__':
    main()
