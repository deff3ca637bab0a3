# Copyright (c) mmmim contributors. All rights reserved.
"""With ``cast_root_inputs=False`` an FSDP2 model with bf16 parameters sees
its batch in fp32, so MAE's normalised-pixel target and loss are computed
in fp32 as under the official AMP recipe; the strategy refuses the setting
without an autocasting optimizer wrapper."""

import copy

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config

from mmmim.analysis.benchmark_sharded import init_single_process
from mmmim.engine.strategies import FSDP2Strategy
from mmmim.engine.strategies.fsdp2_sharding import apply_fsdp2
from mmmim.registry import MODELS

DEMO = 'configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py'
BF16 = dict(param_dtype='bfloat16', reduce_dtype='float32')


@pytest.fixture(scope='module')
def one_process_group():
    started = init_single_process(torch.device('cpu'))
    yield
    if started:
        dist.destroy_process_group()


def _loss_and_input_dtype(model, images, autocast):
    seen = {}
    target = model.head.target

    def spy(inputs, *args, **kwargs):
        seen['dtype'] = inputs.dtype
        seen['target'] = target(inputs, *args, **kwargs)
        return seen['target']

    model.head.target = spy
    torch.manual_seed(0)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        loss = model.loss(images)['loss']
    return float(loss.detach()), seen['dtype'], seen['target'].float()


def test_the_batch_and_target_stay_fp32(one_process_group):
    torch.manual_seed(0)
    template = MODELS.build(Config.fromfile(DEMO).model).train()
    images = torch.randn(4, 3, 64, 64)
    plain, plain_dtype, plain_target = _loss_and_input_dtype(
        copy.deepcopy(template), images, autocast=True
    )
    kept = apply_fsdp2(
        copy.deepcopy(template), mp_policy=BF16, cast_root_inputs=False
    )
    kept_loss, kept_dtype, kept_target = _loss_and_input_dtype(
        kept, images, True
    )
    cast = apply_fsdp2(copy.deepcopy(template), mp_policy=BF16)
    _, cast_dtype, cast_target = _loss_and_input_dtype(cast, images, False)
    assert plain_dtype == kept_dtype == torch.float32
    # Negative control: FSDP2's default casts the batch, target included.
    assert cast_dtype == torch.bfloat16
    # Kept in fp32, the target is the autocast model's, bit for bit; cast,
    # it is rounded to bf16.
    torch.testing.assert_close(kept_target, plain_target, rtol=0, atol=0)
    assert (cast_target - plain_target).abs().max() > 1e-3
    # The loss differs from the autocast model's by the bf16 residual
    # stream between the sharded blocks only.
    assert abs(kept_loss - plain) / plain < 1e-4


def test_kept_fp32_inputs_need_an_autocasting_wrapper():
    strategy = FSDP2Strategy(mp_policy=BF16, cast_root_inputs=False)
    with pytest.raises(ValueError, match='AutocastOptimWrapper'):
        strategy.prepare(
            torch.nn.Linear(2, 2),
            optim_wrapper=dict(type='OptimWrapper', optimizer=dict()),
        )
