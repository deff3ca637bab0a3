# Copyright (c) mmmim contributors. All rights reserved.
"""Overfit a small Mask R-CNN on labelme's 3 photos and report COCO AP.

An end-to-end sanity check of the dense-transfer stack on CPU in minutes
(not part of the test suite): a released Mask R-CNN config (ConvViT + FPN
or MAE ViT + SimpleFPN) shrunk to a small backbone and narrow heads trains
on the 3 annotated PASCAL VOC photos of the labelme example and is
evaluated by CocoMetric on the same images. A working pipeline (data,
targets, heads, losses, post-processing, mask pasting, evaluation) reaches
clearly non-zero bbox and segm AP; a broken one stays near 0.

Usage::

    python tools/analysis_tools/overfit_detector.py [--backbone convvit|vit]
        [--iters 200] [--size 192] [--lr 1e-3] [--work-dir DIR]
"""

import argparse
import json
import os.path as osp
import subprocess
import sys
import time
from pathlib import Path

from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmmim.testing.dense import tiny_convvit, tiny_det_config, tiny_vit
from mmmim.utils import register_all_modules

REPO = Path(__file__).resolve().parents[2]
CONFIGS = {
    'convvit': REPO
    / 'configs/convmae/benchmarks/mmdet'
    / 'mask-rcnn_convvit-base-p16_fpn_8xb4-amp-lsj-coslr-25e_coco.py',
    'vit': REPO
    / 'configs/mae/benchmarks/mmdet'
    / 'mask-rcnn_vit-base-p16_simple-fpn_16xb4-amp-lsj-100e_coco.py',
}
# Small but not tiny: wide enough to fit 12 instances of 6 classes.
CONVVIT_ARCH = dict(embed_dims=(32, 48, 64), num_layers=(1, 1, 4), num_heads=4)
VIT_ARCH = dict(
    embed_dims=64, num_layers=4, num_heads=4, feedforward_channels=128
)
WIDTH = 64


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--backbone', choices=sorted(CONFIGS), default='convvit'
    )
    parser.add_argument('--iters', type=int, default=200)
    parser.add_argument('--size', type=int, default=192)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--work-dir', default='work_dirs/overfit_detector')
    parser.add_argument(
        '--data-root',
        help='prepared labelme folder (default: the copy in '
        'tests/data/labelme, else run tools/misc/prepare_labelme_coco.py)',
    )
    return parser.parse_args()


def labelme_root(given: str) -> Path:
    """The prepared labelme example: the repository's copy, else fetched
    into the cache."""
    if given:
        return Path(given)
    kept = REPO / 'tests' / 'data' / 'labelme'
    if (kept / 'data_dataset_coco' / 'annotations.json').is_file():
        return kept
    script = REPO / 'tools' / 'misc' / 'prepare_labelme_coco.py'
    out = subprocess.run(
        [sys.executable, str(script)], check=True, capture_output=True
    )
    return Path(out.stdout.decode().strip().splitlines()[-1])


def build_config(args: argparse.Namespace):
    size = args.size
    if args.backbone == 'convvit':
        # Stage 3 on a size/16 grid: two 8 x 8 windowed blocks around two
        # global ones, as the released ConvViT alternates them.
        backbone = tiny_convvit(
            size,
            arch=dict(CONVVIT_ARCH),
            window_size=8,
            global_attn_indexes=(1, 3),
        )
        neck = dict(in_channels=[32, 48, 64, 64])
    else:
        backbone = tiny_vit(
            size,
            arch=dict(VIT_ARCH),
            out_indices=(3,),
            window_size=7,
            global_attn_indexes=(1, 3),
        )
        neck = dict(in_channels=64)
    cfg = tiny_det_config(
        CONFIGS[args.backbone],
        backbone=backbone,
        neck=neck,
        data_root=labelme_root(args.data_root),
        work_dir=Path(args.work_dir) / args.backbone,
        max_iters=args.iters,
        lr=args.lr,
        size=size,
        width=WIDTH,
    )
    # More proposals and sampled RoIs than the CI tests use.
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=500, max_per_img=200)
    cfg.model.train_cfg.rcnn.sampler.num = 128
    cfg.model.test_cfg.rpn.update(nms_pre=500, max_per_img=200)
    cfg.default_hooks.logger.interval = 10
    return cfg


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = build_config(args)
    start = time.perf_counter()
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        runner = Runner.from_cfg(cfg)
        runner.train()
        losses = runner.message_hub.get_scalar('train/loss').data[0]
        metrics = runner.val()
    minutes = (time.perf_counter() - start) / 60
    summary = dict(
        backbone=args.backbone,
        iters=args.iters,
        size=args.size,
        minutes=round(minutes, 1),
        first_loss=round(float(losses[0]), 3),
        last_loss=round(float(losses[-1]), 3),
        bbox_mAP=metrics['coco/bbox_mAP'],
        bbox_mAP_50=metrics['coco/bbox_mAP_50'],
        segm_mAP=metrics['coco/segm_mAP'],
        segm_mAP_50=metrics['coco/segm_mAP_50'],
    )
    out = osp.join(cfg.work_dir, 'overfit_summary.json')
    with open(out, 'w') as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary, indent=2))


if __name__ == '__main__':
    main()
