# Copyright (c) mmmim contributors. All rights reserved.
"""VideoMAE through tools/train.py and tools/test.py on the real demo clips:
pre-training lowers the loss; fine-tuning trains and the multi-view test
(2 clips x 3 crops per video) evaluates end to end."""

import json
from pathlib import Path

from .conftest import REPO_ROOT, run_tool

PRETRAIN = (
    REPO_ROOT
    / 'configs'
    / 'videomae'
    / ('videomae_vit-tiny-p8_1xb8-coslr-demo.py')
)
FINETUNE = (
    REPO_ROOT
    / 'configs'
    / 'videomae'
    / 'benchmarks'
    / 'cls'
    / ('vit-tiny-p8_1xb4-coslr-demo_video.py')
)


def _data_options(root: Path, loaders=('train',)) -> list:
    options = []
    for loader in loaders:
        split = 'train' if loader == 'train' else 'val'
        options += [
            f'{loader}_dataloader.dataset.ann_file={root / f"{split}.txt"}',
            f'{loader}_dataloader.dataset.data_prefix.video={root / "videos"}',
            f'{loader}_dataloader.num_workers=0',
            f'{loader}_dataloader.persistent_workers=False',
        ]
    return options


def _logged_losses(work_dir: Path) -> list:
    scalars = next(work_dir.glob('*/vis_data/scalars.json'))
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    return [row['loss'] for row in rows if 'loss' in row]


def test_videomae_demo_pretraining_lowers_the_loss(tmp_path, demo_video_root):
    work_dir = tmp_path / 'pretrain'
    run_tool(
        [
            'tools/train.py',
            str(PRETRAIN),
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            'train_cfg.max_iters=40',
            'default_hooks.logger.interval=5',
            *_data_options(demo_video_root),
        ],
        timeout=600,
        env_extra=dict(OMP_NUM_THREADS='2'),
    )
    losses = _logged_losses(work_dir)
    assert len(losses) >= 8
    # Smoothed over 10 iterations: the loss of the last ones is clearly
    # below that of the first ones (about 1.4 -> 1.0 on these clips).
    assert losses[-1] < 0.85 * losses[0], losses
    assert (work_dir / 'iter_40.pth').is_file()
    # Frame strips of a held-out clip from the trained model.
    run_tool(
        [
            'tools/visualization/vis_video_reconstruction.py',
            str(PRETRAIN),
            str(work_dir / 'iter_40.pth'),
            '--video',
            str(demo_video_root / 'videos' / 'bikes_6.mp4'),
            '--out-dir',
            str(tmp_path / 'vis'),
        ]
    )
    assert (tmp_path / 'vis' / 'bikes_6.png').stat().st_size > 10_000


def test_videomae_finetune_and_multi_view_test(tmp_path, demo_video_root):
    work_dir = tmp_path / 'finetune'
    options = _data_options(demo_video_root, ('train', 'val', 'test'))
    run_tool(
        [
            'tools/train.py',
            str(FINETUNE),
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            'train_cfg.max_iters=6',
            'train_cfg.val_interval=6',
            'default_hooks.logger.interval=2',
            *options,
        ],
        timeout=600,
        env_extra=dict(OMP_NUM_THREADS='2'),
    )
    losses = _logged_losses(work_dir)
    assert losses and all(loss > 0 for loss in losses)
    proc = run_tool(
        [
            'tools/test.py',
            str(FINETUNE),
            str(work_dir / 'iter_6.pth'),
            '--work-dir',
            str(tmp_path / 'test'),
            '--cfg-options',
            *options,
        ],
        timeout=600,
        env_extra=dict(OMP_NUM_THREADS='2'),
    )
    log = proc.stdout + proc.stderr
    # 3 held-out videos, each scored on 2 clips x 3 crops.
    assert 'Iter(test) [1/1]' in log
    top1 = float(log.split('accuracy/top1: ')[1].split()[0])
    # One prediction per video (not per view): a multiple of 100 / 3.
    assert min(abs(top1 - k * 100 / 3) for k in range(4)) < 1e-3, top1
