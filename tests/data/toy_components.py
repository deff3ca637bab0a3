# Copyright (c) mmmim contributors. All rights reserved.
"""Components used only by the tool tests: a tiny regression model, its
dataset and a hook that dumps each rank's final weights.

They live under ``tests/`` so that the package registers nothing that is not
a real mmmim component; configs load them with ``custom_imports``.
"""

import json
import os
import os.path as osp
import signal

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from mmmim.registry import DATASETS, HOOKS, MODELS


@MODELS.register_module(force=True)
class ToyRegressor(BaseModel):
    """y = W x + b fitted with MSE; a dropout keeps the RNG in the loop so
    that resume must restore random state to reproduce a run."""

    def __init__(self, in_features: int = 8, out_features: int = 2) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(in_features, out_features)
        self.dropout = torch.nn.Dropout(0.1)

    def forward(self, inputs, targets=None, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        pred = self.linear(self.dropout(inputs))
        if mode == 'loss':
            targets = (
                torch.stack(targets) if isinstance(targets, list) else targets
            )
            return dict(loss=((pred - targets) ** 2).mean())
        return pred


@DATASETS.register_module(force=True)
class ToyRegressionDataset(Dataset):
    """A fixed synthetic regression set (the same on every rank)."""

    def __init__(self, length: int = 64, in_features: int = 8) -> None:
        gen = torch.Generator().manual_seed(0)
        self.inputs = torch.randn(length, in_features, generator=gen)
        weight = torch.randn(in_features, 2, generator=gen)
        self.targets = self.inputs @ weight
        self.metainfo = dict()

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=self.inputs[idx], targets=self.targets[idx])


@HOOKS.register_module(force=True)
class DumpWeightsHook(Hook):
    """Save this rank's final weights as ``rank{r}_weights.pth``."""

    def after_run(self, runner) -> None:
        model = runner.model
        model = getattr(model, 'module', model)
        torch.save(
            model.state_dict(),
            osp.join(runner.work_dir, f'rank{get_rank()}_weights.pth'),
        )


@HOOKS.register_module(force=True)
class KillAtIterHook(Hook):
    """SIGKILL this process at iteration ``kill_iter``, like a preempted
    job: after the iteration (and the checkpoint hook) with
    ``when='after_iter'``, or in the middle of saving its checkpoint with
    ``when='saving'``."""

    priority = 'LOWEST'

    def __init__(self, kill_iter: int = -1, when: str = 'after_iter') -> None:
        self.kill_iter = kill_iter
        self.when = when

    def _maybe_kill(self, runner, when: str) -> None:
        if self.when == when and runner.iter + 1 == self.kill_iter:
            os.kill(os.getpid(), signal.SIGKILL)

    def after_train_iter(
        self, runner, batch_idx, data_batch=None, outputs=None
    ) -> None:
        self._maybe_kill(runner, 'after_iter')

    def before_save_checkpoint(self, runner, checkpoint) -> None:
        self._maybe_kill(runner, 'saving')


@HOOKS.register_module(force=True)
class InjectNaNHook(Hook):
    """Turn the inputs of iteration ``nan_iter`` into NaN."""

    def __init__(self, nan_iter: int = -1) -> None:
        self.nan_iter = nan_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter + 1 == self.nan_iter:
            data_batch['inputs'] = data_batch['inputs'] * float('nan')


@DATASETS.register_module(force=True)
class ToyImageDataset(Dataset):
    """Fixed random uint8 images packed like ``mmpretrain.PackInputs``
    (no random transforms, so every process sees the same pixels)."""

    def __init__(self, length: int = 32, img_size: int = 32) -> None:
        gen = torch.Generator().manual_seed(0)
        self.images = torch.randint(
            0,
            256,
            (length, 3, img_size, img_size),
            generator=gen,
            dtype=torch.uint8,
        )
        self.metainfo = dict()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx: int) -> dict:
        from mmpretrain.structures import DataSample

        sample = DataSample()
        sample.set_metainfo(dict(idx=idx))
        return dict(inputs=self.images[idx], data_samples=sample)


@HOOKS.register_module(force=True)
class DumpLossesHook(Hook):
    """Record this rank's loss per iteration in ``rank{r}_losses.json``."""

    def __init__(self) -> None:
        self.losses = []

    def after_train_iter(
        self, runner, batch_idx, data_batch=None, outputs=None
    ) -> None:
        self.losses.append(float(outputs['loss']))

    def after_run(self, runner) -> None:
        path = osp.join(runner.work_dir, f'rank{get_rank()}_losses.json')
        with open(path, 'w') as f:
            json.dump(self.losses, f)
