# Copyright (c) mmmim contributors. All rights reserved.
"""The ConvMAE part of ``benchmark.py`` (``--method convmae``).

One ConvMAE model (ConvMAE-B widths; the decoder of the official recipe)
is timed in three precision / memory-format settings, each with its own
copy of the same initial weights and fused AdamW:

* ``fp32``: channels-first convolutions, fp32 (the reference);
* ``channels-last``: channels-last conv stages, fp32;
* ``default``: channels-last and bf16 autocast (mmmim's default recipe).

Steps are interleaved (rotating order) with ``torch.manual_seed(seed)``
before each, so every setting sees the same masks. Before any update, the
loss of every setting on the same weights, batch and mask is compared with
fp32 (the exactness check: within 1e-2 relative). Reported per setting:
median step time, img/s, fwd+bwd and optimizer time, and memory (saved
activations on a CPU, peak allocated memory on CUDA).
"""

import statistics
from typing import Dict, List, Optional

import torch
from benchmark import Candidate

# name: (img, decoder dims, decoder layers, decoder heads); encoder 'b'.
CONVMAE_SIZES = {
    'B224': (224, 512, 8, 16),
    'B112': (112, 512, 8, 16),
}
MASK_RATIO = 0.75
SETTINGS = {
    # name: (channels_last, autocast dtype)
    'fp32': (False, None),
    'channels-last': (True, None),
    'default': (True, torch.bfloat16),
}


def build_convmae(size: str, channels_last: bool) -> torch.nn.Module:
    from mmmim.models import ConvMAE

    img, ddims, dlayers, dheads = CONVMAE_SIZES[size]
    return ConvMAE(
        backbone=dict(
            type='ConvMAEViT',
            arch='b',
            img_size=img,
            mask_generator=dict(
                type='RandomMaskGenerator', mask_ratio=MASK_RATIO
            ),
            channels_last=channels_last,
        ),
        neck=dict(
            type='ConvMAEDecoder',
            num_patches=(img // 16) ** 2,
            decoder_embed_dims=ddims,
            decoder_num_layers=dlayers,
            decoder_num_heads=dheads,
        ),
        head=dict(type='PixelReconstructionHead', patch_size=16),
        data_preprocessor=dict(type='BaseDataPreprocessor'),
    )


def _loss(model: torch.nn.Module, imgs: torch.Tensor) -> torch.Tensor:
    return model.loss(imgs)['loss']


class MemoryCandidate(Candidate):
    """A candidate that also records the CUDA peak memory of a step."""

    peak_bytes: Optional[int] = None

    def step(self, imgs: torch.Tensor, seed: int, record: bool) -> float:
        if self.device.type != 'cuda':
            return super().step(imgs, seed, record)
        torch.cuda.reset_peak_memory_stats(self.device)
        elapsed = super().step(imgs, seed, record)
        self.peak_bytes = torch.cuda.max_memory_allocated(self.device)
        return elapsed


def build_candidates(
    size: str, device: torch.device
) -> Dict[str, MemoryCandidate]:
    """Three settings with identical initial weights."""
    torch.manual_seed(0)
    reference = build_convmae(size, channels_last=False)
    reference.init_weights()
    state = reference.state_dict()
    candidates = {}
    for name, (channels_last, amp) in SETTINGS.items():
        model = build_convmae(size, channels_last)
        model.load_state_dict(state)
        candidates[name] = MemoryCandidate(
            name, model, _loss, 'fused', device, amp
        )
    return candidates


def loss_check(
    candidates: Dict[str, MemoryCandidate], imgs: torch.Tensor
) -> Dict[str, float]:
    """Loss of every setting on the same weights, batch and mask."""
    losses = {}
    for name, cand in candidates.items():
        torch.manual_seed(1)  # the same mask for every setting
        with (
            torch.no_grad(),
            torch.autocast(
                cand.device.type,
                dtype=cand.amp_dtype,
                enabled=cand.amp_dtype is not None,
            ),
        ):
            losses[name] = _loss(cand.model, imgs).item()
    return losses


def run(args) -> Dict[str, object]:
    """Benchmark ConvMAE; ``args`` as parsed by ``benchmark.py``."""
    device = torch.device(args.device)
    if args.size not in CONVMAE_SIZES:
        raise SystemExit(
            f'--size {args.size} is not a ConvMAE size; choose from '
            f'{sorted(CONVMAE_SIZES)}'
        )
    candidates = build_candidates(args.size, device)
    img = CONVMAE_SIZES[args.size][0]
    imgs = torch.randn(
        args.batch, 3, img, img, generator=torch.Generator().manual_seed(0)
    ).to(device)
    losses = loss_check(candidates, imgs)
    order: List[MemoryCandidate] = list(candidates.values())
    for step in range(args.warmup):
        for cand in order:
            cand.step(imgs, 1000 + step, record=False)
    ratios: Dict[str, List[float]] = {name: [] for name in candidates}
    for pair in range(args.pairs):
        rotated = order[pair % len(order) :] + order[: pair % len(order)]
        times = {c.name: c.step(imgs, 2000 + pair, True) for c in rotated}
        for name in candidates:
            ratios[name].append(times['fp32'] / times[name])
    result = dict(candidates=candidates, ratios=ratios, losses=losses)
    report(args.size, args.batch, result)
    return result


def report(size: str, batch: int, result: dict) -> None:
    print(f'\n== CONVMAE {size} (ConvMAE-B encoder), batch {batch} ==')
    memory = 'peak MiB' if _on_cuda(result) else 'saved MiB'
    print(
        f'{"setting":15s} {"step ms":>9s} {"IQR":>7s} {"fwd+bwd":>9s} '
        f'{"opt":>8s} {"img/s":>8s} {memory:>10s} {"speed-up":>9s} '
        f'{"loss":>10s} {"rel. diff":>10s}'
    )
    reference_loss = result['losses']['fp32']
    for name, cand in result['candidates'].items():
        totals = [a + b for a, b in zip(cand.fwd_bwd, cand.opt)]
        median = statistics.median(totals)
        quartiles = statistics.quantiles(totals, n=4)
        mem = (
            cand.peak_bytes
            if cand.peak_bytes is not None
            else cand.saved_bytes
        )
        loss = result['losses'][name]
        print(
            f'{name:15s} {median:9.1f} {quartiles[2] - quartiles[0]:7.1f} '
            f'{statistics.median(cand.fwd_bwd):9.1f} '
            f'{statistics.median(cand.opt):8.1f} '
            f'{batch / median * 1000:8.2f} {mem / 2**20:10.1f} '
            f'{statistics.median(result["ratios"][name]):9.3f} '
            f'{loss:10.5f} {abs(loss - reference_loss) / reference_loss:10.2e}'
        )
    worst = max(
        abs(loss - reference_loss) / reference_loss
        for loss in result['losses'].values()
    )
    verdict = 'OK' if worst <= 1e-2 else 'TOO LARGE'
    print(
        'speed-up = median of paired ratios fp32 / setting; loss on the '
        f'same weights and mask, worst relative diff {worst:.2e} '
        f'(limit 1e-2): {verdict}'
    )


def _on_cuda(result: dict) -> bool:
    cand = next(iter(result['candidates'].values()))
    return cand.device.type == 'cuda'
