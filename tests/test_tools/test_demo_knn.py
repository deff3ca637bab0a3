# Copyright (c) mmmim contributors. All rights reserved.
"""The demo pre-training run logs the online kNN accuracy of its encoder
(``configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py``, shortened)."""

import json

from .conftest import REPO_ROOT, run_tool

DEMO = REPO_ROOT / 'configs' / 'mae' / 'mae_vit-tiny-p8_1xb32-coslr-demo.py'


def test_demo_run_logs_knn_top1(tmp_path, demo_data_root):
    knn = 'custom_hooks.1'
    run_tool(
        [
            'tools/train.py',
            str(DEMO),
            '--work-dir',
            str(tmp_path),
            '--cfg-options',
            'train_cfg.max_iters=4',
            'model.backbone.arch.num_layers=1',
            'train_dataloader.batch_size=8',
            'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            f'train_dataloader.dataset.data_root={demo_data_root}',
            'default_hooks.checkpoint.interval=100',
            'custom_hooks.0.interval=100',
            f'custom_hooks.0.img_paths={demo_data_root / "val"}',
            f'{knn}.interval=2',
            f'{knn}.bank_dataloader.dataset.data_root={demo_data_root}',
            f'{knn}.query_dataloader.dataset.data_root={demo_data_root}',
        ]
    )
    (scalars,) = tmp_path.glob('*/vis_data/scalars.json')
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    knn_rows = [r for r in rows if 'knn/top1' in r]
    assert [r['step'] for r in knn_rows] == [2, 4]
    # 6 query images: every value is a multiple of 100 / 6.
    for row in knn_rows:
        assert 0 <= row['knn/top1'] <= 100
        assert (
            abs(row['knn/top1'] * 6 / 100 - round(row['knn/top1'] * 6 / 100))
            < 1e-6
        )
