# Copyright (c) mmmim contributors. All rights reserved.
"""``benchmark_fsdp2.py`` times the plain and the FSDP2 step of a config's
model from the same weights, batch and masks."""

import torch
from mmengine.config import Config

from mmmim.analysis.benchmark_sharded import compare, format_results

DEMO = 'configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py'


def test_both_sides_start_from_the_same_weights_batch_and_masks():
    cfg = Config.fromfile(DEMO)
    plain, sharded = compare(
        cfg, batch=4, steps=1, warmup=0, device=torch.device('cpu')
    )
    # bf16 parameters against bf16 autocast: the same loss up to rounding.
    # Another batch, mask or weights would change it by far more (the
    # negative control below).
    rel = abs(sharded.first_loss - plain.first_loss) / plain.first_loss
    assert rel < 1e-3
    assert plain.step_ms > 0 and sharded.step_ms > 0
    assert plain.planned_bytes > 0 and sharded.planned_bytes > 0
    # Every trained parameter got a gradient and AdamW states on both
    # sides (else compare() raises); on one rank the shards are whole
    # tensors: the same fp32 weights, gradients and states as plain.
    assert sharded.state_bytes == plain.state_bytes > 0
    assert not torch.distributed.is_initialized()  # the group it started

    other, _ = compare(
        cfg, batch=4, steps=1, warmup=0, device=torch.device('cpu')
    )
    # Same seed, same config: deterministic; a bigger batch changes the
    # loss (different images and masks).
    assert abs(other.first_loss - plain.first_loss) < 1e-6
    bigger, _ = compare(
        cfg, batch=6, steps=1, warmup=0, device=torch.device('cpu')
    )
    assert abs(bigger.first_loss - plain.first_loss) / plain.first_loss > 1e-3

    table = format_results([plain, sharded], 4, 'img')
    assert 'FSDP2 step time / plain' in table
    assert 'n/a' in table  # no peak memory on a CPU
