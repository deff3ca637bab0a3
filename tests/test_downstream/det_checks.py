# Copyright (c) mmmim contributors. All rights reserved.
"""Train a tiny Mask R-CNN config briefly and evaluate it with COCO AP."""

from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

AP_KEYS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')


def train_and_evaluate(cfg: Config) -> Dict[str, object]:
    """Run ``cfg`` (train, then a COCO evaluation on the same images).

    Returns:
        dict: ``losses`` (the per-iteration total loss) and ``metrics``.
    """
    # The runner makes the config's scope (mmdet) current; restore ours.
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        runner = Runner.from_cfg(cfg)
        runner.train()
        losses: List[float] = list(
            runner.message_hub.get_scalar('train/loss').data[0]
        )
        metrics = runner.val()
    return dict(losses=losses, metrics=metrics)


def check_loss_falls(losses: List[float], max_iters: int) -> None:
    """Every step logged, finite, and the last ones below the first."""
    assert len(losses) == max_iters
    assert all(torch.isfinite(torch.tensor(losses)))
    first, last = sum(losses[:2]) / 2, sum(losses[-2:]) / 2
    assert last < 0.9 * first, losses


def check_coco_metrics(metrics: Dict[str, float]) -> None:
    """bbox and segm AP were computed by COCOeval and are in [0, 1]."""
    for kind in ('bbox', 'segm'):
        for key in AP_KEYS:
            name = f'coco/{kind}_{key}'
            assert name in metrics, sorted(metrics)
        # Small objects may be absent (AP -1 in COCOeval); the rest exist.
        for key in ('mAP', 'mAP_50', 'mAP_75'):
            value = metrics[f'coco/{kind}_{key}']
            assert 0.0 <= value <= 1.0, (kind, key, value)
