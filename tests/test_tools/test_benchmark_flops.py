# Copyright (c) mmmim contributors. All rights reserved.
"""The FLOP formulas and MFU arithmetic of the training benchmark
(tools/analysis_tools/benchmark.py, mmmim.analysis), against the published
figures."""

import pytest
import torch

from mmmim.analysis import benchmark, benchmark_methods, flops

G = 1e9


def _mae(flops, img, patch, dims, layers, ddims, dlayers, **kwargs):
    return flops.mae_forward_macs(
        (img // patch) ** 2, 3 * patch**2, dims, layers, ddims, dlayers,
        **kwargs,
    )  # fmt: skip


def test_mae_vit_b16_known_answer():
    """performance.md section 1: 9.78 GMAC = 19.6 GFLOP forward,
    58.7 GFLOP per image per training step; the parts as tabulated."""
    f = flops
    macs = _mae(f, 224, 16, 768, 12, 512, 8)
    assert macs / G == pytest.approx(9.78, abs=0.005)
    assert 2 * macs / G == pytest.approx(19.6, abs=0.05)
    assert f.train_flops(macs) / G == pytest.approx(58.7, abs=0.05)
    # encoder: 12 blocks on 49 visible tokens + cls = 4.293 GMAC
    assert 12 * f.block_macs(50, 768) / G == pytest.approx(4.293, abs=1e-3)
    # decoder: 8 blocks on 197 tokens = 5.275 GMAC
    assert 8 * f.block_macs(197, 512) / G == pytest.approx(5.275, abs=1e-3)


@pytest.mark.parametrize(
    'args, gmac',
    [
        ((224, 16, 1024, 24, 512, 8), 20.76),  # MAE-L/16
        ((224, 14, 1280, 32, 512, 8), 48.6),  # MAE-H/14
        ((224, 16, 192, 12, 256, 4), 1.05),  # CPU proxy T224
        ((224, 16, 384, 12, 256, 4), 1.89),  # S224
        ((112, 16, 768, 12, 512, 8), 2.44),  # B112
    ],
)
def test_other_mae_sizes(args, gmac):
    assert _mae(flops, *args) / G == pytest.approx(gmac, rel=0.005)


def test_mae_l_train_step():
    f = flops
    macs = _mae(f, 224, 16, 1024, 24, 512, 8)
    assert f.train_flops(macs) / G == pytest.approx(124.5, abs=0.05)


def test_simmim_and_convmae_relative_to_mae_b():
    """SimMIM ViT-B 17.7 GMAC (1.81 x MAE-B); ConvMAE-B 1.76 x MAE-B."""
    f = flops
    mae_b = _mae(f, 224, 16, 768, 12, 512, 8)
    simmim = f.simmim_vit_forward_macs(224)
    assert simmim / G == pytest.approx(17.7, abs=0.05)
    assert simmim / mae_b == pytest.approx(1.81, abs=0.01)
    assert f.convmae_forward_macs() / mae_b == pytest.approx(1.76, abs=0.02)


def test_swin_b_matches_its_published_cost():
    """Swin-B at 224 px, window 7: 15.4 GMAC (Swin paper, with its
    classifier); the SimMIM decoder replaces the classifier."""
    macs = flops.swin_forward_macs(224, window_size=7)
    assert macs / G == pytest.approx(15.4, rel=0.02)


def test_mfu_arithmetic_reproduces_the_h200_table():
    """performance.md section 5: 2,395.7 img/s -> 14.2 % and
    4,838.4 img/s -> 28.7 % of 989.4 TFLOP/s for MAE-B."""
    f = flops
    per_img = f.train_flops(_mae(f, 224, 16, 768, 12, 512, 8))
    peak = f.device_peak_tflops('NVIDIA H200')
    assert peak == 989.4
    for step_ms, expected in ((106.86, 0.142), (52.91, 0.287)):
        tflops = f.achieved_tflops(per_img, 256, step_ms)
        assert f.mfu(tflops, peak) == pytest.approx(expected, abs=0.001)
    # Section 4: 50 % MFU on an H100 is 8,429 img/s for MAE-B.
    rate = 0.5 * f.device_peak_tflops('NVIDIA H100 80GB HBM3') * 1e12
    assert rate / per_img == pytest.approx(8429, abs=1)


def test_peak_lookup_and_missing_peak():
    f = flops
    assert f.device_peak_tflops('NVIDIA H100 PCIe') == 756.0
    assert f.device_peak_tflops('NVIDIA A100-SXM4-80GB') == 312.0
    assert f.device_peak_tflops('cpu') is None
    assert f.mfu(1.0, None) is None
    assert benchmark.peak_for(torch.device('cpu'), None) is None
    assert benchmark.peak_for(torch.device('cpu'), 2.0) == 2.0


def test_methods_are_registered():
    methods = benchmark_methods.METHODS
    assert set(methods) == {'mae', 'simmim', 'convmae', 'videomae'}
    assert (
        methods['videomae'].unit == 'clip' and 'B112' in methods['mae'].sizes
    )


def _seeded() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def test_run_and_report_a_tiny_comparison(capsys):
    """The driver end to end on two tiny models: paired ratios, and the
    reported TFLOP/s and MFU follow from the median step time."""
    common = benchmark

    def spec(name):
        return common.Spec(
            name,
            lambda: torch.nn.Linear(8, 8),
            lambda model, x: model(x).square().mean(),
            lambda n: torch.randn(n, 8, generator=_seeded()),
            flops_per_sample=1e9,
        )

    comparison = common.Comparison(
        'tiny', spec('ref'), spec('ours'), share_weights=True
    )
    setting = common.settings_for(torch.device('cpu'))['equal-fp32']
    result = common.run(comparison, 4, 3, 1, torch.device('cpu'), setting)
    assert len(result.ratios) == 3
    numbers = common.report(result, peak_tflops=2.0, unit='img')
    out = capsys.readouterr().out
    assert '== tiny, equal-fp32 ==' in out and 'saved MiB' in out
    assert 'speed-up of mmmim' in out
    # Same weights, same inputs: the first losses agree exactly.
    assert 'relative difference 0.0e+00' in out and ': OK)' in out
    ours = numbers['ours (fp32, fused AdamW)']
    assert ours['tflops'] == pytest.approx(4e9 / ours['step_ms'] / 1e9)
    assert ours['mfu'] == pytest.approx(ours['tflops'] / 2.0)
    assert ours['rate'] == pytest.approx(4000 / ours['step_ms'])
