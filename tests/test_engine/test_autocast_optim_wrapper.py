# Copyright (c) mmmim contributors. All rights reserved.
import copy

import pytest
import torch

from mmmim.engine.optimizers import AutocastOptimWrapper


def _wrapper(model, **kwargs):
    return AutocastOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), **kwargs
    )


def test_forward_runs_in_bf16_and_weights_stay_fp32():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    reference = copy.deepcopy(model)
    inputs = torch.randn(3, 4)

    wrapper = _wrapper(model)
    with wrapper.optim_context(model):
        out = model(inputs)
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())

    # The same SGD step in fp32 without autocast.
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    reference(inputs).pow(2).mean().backward()
    ref_opt.step()

    assert model.weight.dtype == torch.float32
    assert not torch.equal(model.weight, reference.weight.new_zeros(2, 4))
    # Close to fp32 (bf16 has ~3 significant digits) but not bit-equal.
    torch.testing.assert_close(
        model.weight, reference.weight, rtol=0, atol=2e-2
    )
    assert not torch.equal(model.weight, reference.weight)


def test_outside_the_context_nothing_is_cast():
    model = torch.nn.Linear(4, 2)
    _wrapper(model)
    assert model(torch.randn(1, 4)).dtype == torch.float32


def test_invalid_dtype_is_rejected():
    model = torch.nn.Linear(4, 2)
    with pytest.raises(ValueError, match='bfloat16'):
        _wrapper(model, dtype='int8')


def test_builds_from_the_registry_under_another_scope():
    from mmengine.optim import build_optim_wrapper

    model = torch.nn.Linear(4, 2)
    wrapper = build_optim_wrapper(
        model,
        dict(
            type='mmmim.AutocastOptimWrapper',
            dtype='bfloat16',
            optimizer=dict(type='AdamW', lr=1e-3, fused=True),
        ),
    )
    assert isinstance(wrapper, AutocastOptimWrapper)
