# Copyright (c) mmmim contributors. All rights reserved.
"""kNN accuracy of the frozen encoder while a masked image model trains."""

import copy
import random
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Union

import numpy as np
import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.utils.data import DataLoader

from mmmim.registry import HOOKS, METRICS

__all__ = ['OnlineKNNHook']

Loader = Union[dict, DataLoader]


@contextmanager
def _frozen_rng() -> Iterator[None]:
    """Restore the global random states afterwards.

    Iterating a DataLoader draws its base seed from torch's global
    generator, and a pipeline without workers draws from numpy and
    ``random``: without this, evaluating would shift the masks and
    augmentations of the rest of the run.
    """
    devices = (
        [torch.cuda.current_device()] if torch.cuda.is_available() else []
    )
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


@HOOKS.register_module()
class OnlineKNNHook(Hook):
    """Weighted kNN accuracy of the encoder every ``interval`` iterations.

    The encoder is evaluated as it is at that moment, frozen: each batch of
    the labelled bank split and of the held-out query split goes through
    ``model.data_preprocessor(data, False)`` and
    :func:`mmmim.apis.features.encode` (eval mode, masking off, no
    gradients). Every sample's feature, label, split and ``sample_idx`` is
    passed to a :class:`~mmmim.evaluation.KNNAccuracy` metric, whose
    ``evaluate`` gathers both splits from every rank (each rank encodes its
    shard of the data, as in a validation loop) and classifies the queries
    against the bank. Afterwards every module's ``training`` flag and the
    global random states (``random``, numpy, torch) are restored, and no
    weight is touched: the rest of the run is the same as without the
    hook.

    The metrics, ``knn/top1`` and ``knn/top5`` by default, are
    written to the text log, to ``vis_data/scalars.json`` and the run's
    ``vis_data/{timestamp}.json`` (with the global iteration as ``step``,
    as LoggerHook writes validation metrics), and to the message hub
    (``runner.message_hub.get_scalar('knn/top1')``).

    Args:
        bank_dataloader (dict | DataLoader): Labelled samples to vote
            (e.g. the training split with a test pipeline). A dict is built
            by ``Runner.build_dataloader``; its ``sampler`` defaults to
            ``dict(type='DefaultSampler', shuffle=False)`` and its
            ``collate_fn`` to the training dataloader's (the batches must
            have the form the model's data preprocessor takes).
        query_dataloader (dict | DataLoader): Held-out labelled samples to
            classify; as ``bank_dataloader``.
        interval (int): Evaluate every ``interval`` training iterations;
            0 or less: only after training. Defaults to 1000.
        eval_after_train (bool): Evaluate the final weights after training
            too (skipped when the last iteration was just evaluated).
            Defaults to True.
        metric (dict, optional): Arguments of the metric, e.g.
            ``dict(k=10, topk=(1,))``; ``type`` defaults to
            ``'KNNAccuracy'`` (built in mmmim's scope). Defaults to None:
            k=20, temperature=0.07, topk=(1, 5).
        pool (str): ``'cls'`` or ``'avg'`` (mean of the patch tokens);
            see :func:`~mmmim.apis.features.encode`. Defaults to 'cls'.
        out_indices (int): The block whose output is the feature;
            negative from the end. Defaults to -1.
    """

    priority = 'LOW'

    def __init__(
        self,
        bank_dataloader: Loader,
        query_dataloader: Loader,
        interval: int = 1000,
        eval_after_train: bool = True,
        metric: Optional[dict] = None,
        pool: str = 'cls',
        out_indices: int = -1,
    ) -> None:
        if pool not in ('cls', 'avg'):
            raise ValueError(f"pool must be 'cls' or 'avg', got {pool!r}")
        if not isinstance(out_indices, int):
            raise TypeError(f'out_indices must be an int, got {out_indices}')
        self.loaders = dict(bank=bank_dataloader, query=query_dataloader)
        self.interval = interval
        self.eval_after_train = eval_after_train
        self.metric_cfg = dict(type='KNNAccuracy')
        self.metric_cfg.update(metric or {})
        self.pool = pool
        self.out_indices = out_indices
        self.metric = None
        self._last_step = -1

    def before_train(self, runner) -> None:
        """Build the dataloaders and the metric (fails before training)."""
        from mmmim.models.utils import build_in_mmmim

        for split, loader in self.loaders.items():
            if isinstance(loader, dict):
                cfg = copy.deepcopy(loader)
                cfg.setdefault(
                    'sampler', dict(type='DefaultSampler', shuffle=False)
                )
                # Batches as in training, which the data preprocessor is
                # made for (SelfSupDataPreprocessor takes a list as views).
                train_loader = runner.train_dataloader
                cfg.setdefault('collate_fn', train_loader.collate_fn)
                self.loaders[split] = runner.build_dataloader(
                    cfg, seed=runner.seed
                )
        # In mmmim's scope: an unprefixed type resolves in an mmpretrain
        # or mmdet config too.
        self.metric = build_in_mmmim(METRICS, self.metric_cfg)

    def after_train_iter(
        self, runner, batch_idx: int, data_batch=None, outputs=None
    ) -> None:
        """Evaluate every ``interval`` iterations."""
        if self.interval > 0 and self.every_n_train_iters(
            runner, self.interval
        ):
            self.evaluate(runner, step=runner.iter + 1)

    def after_train(self, runner) -> None:
        """Evaluate the trained encoder, unless that was just done."""
        if self.eval_after_train and self._last_step != runner.iter:
            self.evaluate(runner, step=runner.iter)

    def evaluate(self, runner, step: int) -> Dict[str, float]:
        """Encode both splits, run the kNN metric and log the result.

        Args:
            runner (Runner): The training runner.
            step (int): The iteration to log the metrics at.

        Returns:
            Dict[str, float]: e.g. ``{'knn/top1': 62.5, 'knn/top5': 95.0}``,
            on every rank.
        """
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        # Per module, not model.train(): a frozen part of the model (kept
        # in eval mode on purpose) must stay so.
        modes = {module: module.training for module in model.modules()}
        model.eval()
        try:
            with _frozen_rng():
                for split, loader in self.loaders.items():
                    for data in loader:
                        self._process_batch(model, split, data)
            # The number of results over all ranks: `evaluate` keeps this
            # many after gathering (the metric drops padding repeats).
            size = torch.tensor(len(self.metric.results))
            all_reduce(size)  # in place; a no-op without a process group
            metrics = self.metric.evaluate(int(size))
        finally:
            self.metric.results.clear()
            for module, mode in modes.items():
                module.training = mode
        self._last_step = step
        self._log(runner, metrics, step)
        return metrics

    @torch.no_grad()
    def _process_batch(self, model, split: str, data) -> None:
        """Encode a batch and hand its samples to the metric."""
        from mmmim.apis.features import encode

        data = model.data_preprocessor(data, False)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            inputs = inputs[0]  # SelfSupDataPreprocessor: a list of views
        feats = encode(
            model, inputs, pool=self.pool, out_indices=self.out_indices
        )
        samples = []
        for feat, data_sample in zip(feats, data['data_samples']):
            label = data_sample.get('gt_label', None)
            if label is None:
                raise ValueError(
                    f'OnlineKNNHook: a sample of the {split} split has no '
                    'gt_label; the kNN needs labelled data (e.g. '
                    'mmpretrain.CustomDataset with with_label=True)'
                )
            samples.append(
                dict(
                    feat=feat,
                    gt_label=label,
                    split=split,
                    sample_idx=data_sample.get('sample_idx', None),
                )
            )
        self.metric.process(data, samples)

    @staticmethod
    def _log(runner, metrics: Dict[str, float], step: int) -> None:
        """Write the metrics where the training log and curves are."""
        for key, value in metrics.items():
            runner.message_hub.update_scalar(key, value)
        # The JSON file LoggerHook writes, which analyze_logs.py reads.
        runner.visualizer.add_scalars(
            metrics, step=step, file_path=f'{runner.timestamp}.json'
        )
        values = '  '.join(
            f'{key}: {value:.2f}' for key, value in metrics.items()
        )
        runner.logger.info(f'Iter(knn) [{step}]  {values}')
