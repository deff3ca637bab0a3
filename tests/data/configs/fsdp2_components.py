# Copyright (c) mmmim contributors. All rights reserved.
"""Test-only hooks of the ``*_tiny_fsdp2.py`` configs (loaded with
``custom_imports``): gathered weights, and a kill after a checkpoint."""

import os
import os.path as osp
import signal

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmmim.registry import HOOKS


@HOOKS.register_module(force=True)
class DumpFullWeightsHook(Hook):
    """Save the whole model's weights, gathered from the shards (every
    rank takes part; rank 0 writes ``rank0_weights.pth``)."""

    def after_run(self, runner) -> None:
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_model_state_dict,
        )
        from torch.distributed.fsdp import FSDPModule

        model = getattr(runner.model, 'module', runner.model)
        if isinstance(model, FSDPModule):
            options = StateDictOptions(full_state_dict=True, cpu_offload=True)
            state = get_model_state_dict(model, options=options)
        else:
            state = {
                k: v.detach().cpu() for k, v in model.state_dict().items()
            }
        if get_rank() == 0:
            torch.save(state, osp.join(runner.work_dir, 'rank0_weights.pth'))


@HOOKS.register_module(force=True)
class KillAfterCheckpointHook(Hook):
    """SIGKILL every rank after iteration ``kill_iter`` once its checkpoint
    is written (after the checkpoint hook), like a preempted job."""

    # After CheckpointHook (VERY_LOW).
    priority = 'LOWEST'

    def __init__(self, kill_iter: int = -1) -> None:
        self.kill_iter = kill_iter

    def after_train_iter(
        self, runner, batch_idx, data_batch=None, outputs=None
    ) -> None:
        if runner.iter + 1 == self.kill_iter:
            os.kill(os.getpid(), signal.SIGKILL)
