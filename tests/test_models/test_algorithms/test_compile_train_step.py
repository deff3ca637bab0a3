# Copyright (c) mmmim contributors. All rights reserved.
"""``BaseMIM.train_step`` under ``torch.compile``, as mmengine's runner
applies it for ``compile=True`` (a fast backend: the graph capture is what
mmmim controls; inductor's kernels are covered by the tools test)."""

import copy
import shutil

import pytest
import torch
from mmengine.optim import OptimWrapper

from mmmim.engine import AutocastOptimWrapper
from mmmim.models.mask_generators import RandomMaskGenerator
from mmmim.registry import MODELS

STEPS = 3


def _losses(cfg: dict, wrapper_cls, compile_cfg=None) -> list:
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    wrapper = wrapper_cls(optimizer=optimizer)
    step = model.train_step
    if compile_cfg is not None:
        step = torch.compile(step, **compile_cfg)
    images = torch.randn(STEPS, 2, 3, 32, 32)
    losses = []
    for i in range(STEPS):
        torch.manual_seed(100 + i)
        log_vars = step(dict(inputs=images[i]), wrapper)
        losses.append(float(log_vars['loss'].detach()))
    return losses


def test_compiled_train_step_matches_eager_without_recompiles(
    tiny_mae_cfg,
):
    eager = _losses(tiny_mae_cfg, OptimWrapper)
    torch._dynamo.reset()
    with torch._dynamo.config.patch(error_on_recompile=True):
        compiled = _losses(
            tiny_mae_cfg, OptimWrapper, dict(backend='aot_eager')
        )
    torch.testing.assert_close(
        torch.tensor(compiled), torch.tensor(eager), rtol=1e-5, atol=1e-6
    )


def test_compiled_train_step_keeps_autocast(tiny_mae_cfg):
    """The optimizer wrapper's autocast context is entered eagerly but
    still covers the compiled forward pass."""
    fp32 = _losses(tiny_mae_cfg, OptimWrapper)
    eager = _losses(tiny_mae_cfg, AutocastOptimWrapper)
    torch._dynamo.reset()
    compiled = _losses(
        tiny_mae_cfg, AutocastOptimWrapper, dict(backend='aot_eager')
    )
    torch.testing.assert_close(
        torch.tensor(compiled), torch.tensor(eager), rtol=1e-3, atol=1e-5
    )
    assert compiled != fp32  # bf16 really was on


@pytest.mark.skipif(
    shutil.which('g++') is None and shutil.which('c++') is None,
    reason='inductor needs a C++ compiler on a CPU',
)
def test_masks_are_drawn_eagerly_in_compiled_code():
    """Inductor would replace ``torch.rand`` by its own generator; mask
    generators run eagerly so that compiled code draws the same masks."""
    gen = RandomMaskGenerator(0.75)

    def draw():
        return gen(4, 8) & torch.ones(1, dtype=torch.bool)

    torch.manual_seed(3)
    eager = draw()
    torch._dynamo.reset()
    torch.manual_seed(3)
    compiled = torch.compile(draw, backend='inductor')()
    assert torch.equal(compiled, eager)
