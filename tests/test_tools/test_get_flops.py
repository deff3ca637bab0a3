# Copyright (c) mmmim contributors. All rights reserved.
"""tools/analysis_tools/get_flops.py against the closed-form counts."""

import importlib.util

import pytest
from mmengine.config import Config

from .conftest import REPO_ROOT, run_tool

TOOL = 'tools/analysis_tools/get_flops.py'
MAE_B = 'configs/mae/mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py'
# The published closed-form count of MAE ViT-B/16 at 224 px, mask 0.75,
# in GMAC: patch-embed + encoder, and decoder_embed + decoder + pred.
PAPER_ENCODER = 0.116 + 4.293
PAPER_DECODER = 0.020 + 5.275 + 0.077


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'get_flops', REPO_ROOT / TOOL
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tool():
    return load_tool()


def test_mae_vit_b_split_matches_formula(tool):
    model = tool.build_model(Config.fromfile(str(REPO_ROOT / MAE_B)))
    shape = tool.input_shape(model, None)
    assert shape == (224, 224)
    result = tool.analyse(model, shape)
    formula = tool.mae_formula(model, shape)
    assert 'formula' in tool.report(result, formula, shape)
    # The tool's closed form gives the published per-part counts.
    assert formula['backbone'] / 1e9 == pytest.approx(PAPER_ENCODER, 2e-3)
    assert formula['neck'] / 1e9 == pytest.approx(PAPER_DECODER, 2e-3)
    for part in ('backbone', 'neck', 'total'):
        assert result['macs'][part] == pytest.approx(formula[part], rel=0.02)
    # The decoder does 55 % of the forward MACs at base size.
    share = result['macs']['neck'] / result['macs']['total']
    assert share == pytest.approx(0.55, abs=0.01)
    # Parameters of the whole model (mmpretrain README: 111.91 M).
    assert result['params']['total'] / 1e6 == pytest.approx(111.91, 1e-3)


def test_sdpa_counted_like_explicit_attention(tool):
    """Without the SDPA rule the attention products would be missing."""
    import torch
    from mmengine.analysis import FlopAnalyzer

    class Attn(torch.nn.Module):
        def forward(self, q, k, v):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v)

    q = torch.randn(2, 4, 10, 8)
    k = torch.randn(2, 4, 6, 8)
    v = torch.randn(2, 4, 6, 16)
    analyzer = FlopAnalyzer(Attn(), (q, k, v))
    analyzer.set_op_handle(
        'aten::scaled_dot_product_attention', tool.sdpa_flop_jit
    )
    analyzer.unsupported_ops_warnings(False)
    assert analyzer.total() == 2 * 4 * 10 * 6 * (8 + 16)


def test_cli_on_mae_demo():
    config = 'configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py'
    out = run_tool([TOOL, config, '--shape', '64', '64'], timeout=120).stdout
    assert 'input shape: (1, 3, 64, 64)' in out
    rows = {
        line.split()[0]: line.split()[1:]
        for line in out.splitlines()
        if line.split() and line.split()[0] in ('backbone', 'neck', 'total')
    }
    total = float(rows['total'][0])
    parts = float(rows['backbone'][0]) + float(rows['neck'][0])
    assert total > 0
    assert parts == pytest.approx(total, abs=2e-3)
    # The formula column agrees for MAE.
    assert abs(float(rows['total'][-1].rstrip('%'))) < 2.0


def test_simmim_demo_counts_the_full_encoder(tool):
    """SimMIM's encoder sees all 64 tokens (+ cls) of a 64 px image."""
    config = 'configs/simmim/simmim_vit-tiny-p8_1xb32-coslr-demo.py'
    model = tool.build_model(Config.fromfile(str(REPO_ROOT / config)))
    shape = tool.input_shape(model, None)
    assert shape == (64, 64)
    result = tool.analyse(model, shape)
    assert tool.mae_formula(model, shape) is None
    # 4 blocks of width 128 (MLP 512) on 65 tokens + the 8 px patch embed.
    blocks = 4 * (12 * 65 * 128**2 + 2 * 65**2 * 128)
    embed = 64 * 128 * 8 * 8 * 3
    assert result['macs']['backbone'] == pytest.approx(blocks + embed, 0.02)
