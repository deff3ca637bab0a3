# Copyright (c) mmmim contributors. All rights reserved.
"""tools/analysis_tools/benchmark_data.py and mmmim.analysis.data_pipeline
on a few real demo JPEGs."""

import numpy as np

from mmmim.analysis import data_pipeline as dp

from .conftest import run_tool

TOOL = 'tools/analysis_tools/benchmark_data.py'


def test_reference_is_mmpretrains_mae_pipeline():
    steps = dp.mmpretrain_mae_pipeline_cfg()
    assert [step['type'] for step in steps] == [
        'LoadImageFromFile',
        'RandomResizedCrop',
        'RandomFlip',
        'PackInputs',
    ]
    crop = {k: v for k, v in steps[1].items() if k != 'type'}
    assert crop == dp.MAE_CROP


def test_pipelines_time_and_agree(demo_data_root):
    paths = dp.list_images(str(demo_data_root / 'train' / 'photos'), 3)
    pipelines = dp.build_pipelines()
    results = dp.time_single_process(
        pipelines, paths, rounds=2, warmup=0, images_per_round=3
    )
    assert set(results) == {'mmpretrain', 'mmmim', 'device'}
    assert all(len(r.rates) == 2 and r.median > 0 for r in results.values())
    # The three pipelines give the same packed shapes.
    np.random.seed(0)
    packed = {
        name: p(dict(img_path=paths[0])) for name, p in pipelines.items()
    }
    assert packed['mmpretrain']['inputs'].shape == (3, 224, 224)
    assert packed['mmmim']['inputs'].shape == (3, 224, 224)
    assert packed['device']['inputs'].ndim == 1  # the encoded file
    decoded = dp.time_device_decode(
        paths, pipelines['device'], 'cpu', batch_size=3, rounds=1
    )
    assert decoded.median > 0
    assert min(dp.fast_path_psnr(paths)) >= 50


def test_cli_prints_the_table(demo_data_root):
    result = run_tool(
        [
            TOOL,
            '--images',
            str(demo_data_root / 'train' / 'photos'),
            '--num-images',
            '2',
            '--rounds',
            '2',
            '--per-round',
            '2',
            '--workers',
            '1',
            '--batch-size',
            '2',
            '--loader-per-round',
            '8',
            '--device',
            'cpu',
        ]
    )
    out = result.stdout
    assert '| pipeline | img/s/core (median)' in out
    assert '| mmmim |' in out and '| mmpretrain | ' in out
    assert 'DataLoader, 1 workers' in out and 'per worker' in out
    assert 'Device decode (data preprocessor) on cpu' in out
    assert 'PSNR fast path vs mmpretrain' in out


def test_cli_names_a_missing_folder(tmp_path):
    result = run_tool([TOOL, '--images', str(tmp_path)], expect_rc=1)
    assert 'make demo' in result.stderr
