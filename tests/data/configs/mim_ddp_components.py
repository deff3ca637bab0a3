# Copyright (c) mmmim contributors. All rights reserved.
"""Test-only components of the ``*_tiny_ddp.py`` configs: a synthetic
video dataset and a hook that records the masks each rank's model used.

Loaded with ``custom_imports`` (``tests.data.configs.mim_ddp_components``),
so the package registers nothing test-only.
"""

import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmmim.registry import DATASETS, HOOKS


@DATASETS.register_module(force=True)
class ToyVideoDataset(torch.utils.data.Dataset):
    """Fixed random uint8 clips packed like ``PackVideoInputs``: one view
    ``[1, C, T, H, W]`` per sample (no random transforms, so every process
    sees the same pixels)."""

    def __init__(
        self, length: int = 32, num_frames: int = 4, img_size: int = 32
    ) -> None:
        gen = torch.Generator().manual_seed(0)
        self.videos = torch.randint(
            0,
            256,
            (length, 1, 3, num_frames, img_size, img_size),
            generator=gen,
            dtype=torch.uint8,
        )
        self.metainfo = dict()

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, idx: int) -> dict:
        from mmpretrain.structures import DataSample

        sample = DataSample()
        sample.set_metainfo(dict(idx=idx))
        return dict(inputs=self.videos[idx], data_samples=sample)


@HOOKS.register_module(force=True)
class DumpMasksHook(Hook):
    """Record, per iteration, the dataset indices of this rank's batch and
    the mask its backbone used, in ``rank{r}_masks.pth``.

    The mask is the one passed to the backbone (SimMIM draws it in the
    algorithm) or, when none is passed, the one it returns with its latent
    (MAE, ConvMAE, VideoMAE: ``(latent, mask)``).
    """

    def __init__(self) -> None:
        self.masks, self.indices = [], []

    def before_train(self, runner) -> None:
        model = getattr(runner.model, 'module', runner.model)
        model.backbone.register_forward_hook(self._record, with_kwargs=True)

    def _record(self, module, args, kwargs, output) -> None:
        mask = args[1] if len(args) > 1 else kwargs.get('mask')
        if mask is None:
            mask = output[1]
        self.masks.append(mask.detach().cpu().clone())

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.indices.append(
            [s.metainfo['idx'] for s in data_batch['data_samples']]
        )

    def after_run(self, runner) -> None:
        torch.save(
            dict(masks=self.masks, indices=self.indices),
            osp.join(runner.work_dir, f'rank{get_rank()}_masks.pth'),
        )
