# Copyright (c) mmmim contributors. All rights reserved.
"""tools/visualization/browse_dataset.py on the demo configs and data."""

import importlib.util
import json

import numpy as np
import pytest
from PIL import Image

from .conftest import REPO_ROOT

TOOL = 'tools/visualization/browse_dataset.py'
MAE_DEMO = 'configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py'
SIMMIM_DEMO = 'configs/simmim/simmim_vit-tiny-p8_1xb32-coslr-demo.py'


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location(
        'browse_dataset', REPO_ROOT / TOOL
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(tool, config, out_dir, mode, number, data_root):
    tool.main(
        [
            str(REPO_ROOT / config),
            '--output-dir',
            str(out_dir),
            '--mode',
            mode,
            '--show-number',
            str(number),
            '--cfg-options',
            f'train_dataloader.dataset.data_root={data_root}',
        ]
    )
    summary = json.loads((out_dir / 'masks.json').read_text())
    pngs = sorted(out_dir.glob('*.png'))
    assert len(pngs) == len(summary) == number
    return summary, pngs


def grey_patch_fraction(img: np.ndarray, patch: int) -> float:
    """Fraction of ``patch`` x ``patch`` cells that are uniformly grey."""
    h, w = img.shape[:2]
    cells = img.reshape(h // patch, patch, w // patch, patch, 3)
    grey = (cells == 127).all(axis=(1, 3, 4))
    return float(grey.mean())


def test_simmim_pipeline_mask(tool, tmp_path, demo_data_root):
    """GenerateMask: 10 of 16 squares of 16 px = 40 of 64 tokens."""
    summary, pngs = run(
        tool, SIMMIM_DEMO, tmp_path, 'transformed', 3, demo_data_root
    )
    for record, png in zip(summary, pngs):
        assert record['mask_source'] == 'pipeline'
        assert record['num_tokens'] == 64
        assert record['masked_fraction'] == pytest.approx(10 / 16)
        img = np.asarray(Image.open(png).convert('RGB'))
        assert img.shape == (64, 128, 3)  # image | masked image
        left, right = img[:, :64], img[:, 64:]
        assert grey_patch_fraction(right, 8) == pytest.approx(10 / 16)
        assert grey_patch_fraction(left, 8) == 0.0
        # Visible patches are the image itself.
        visible = (right != 127).any(axis=-1)
        assert (right[visible] == left[visible]).all()


def test_mae_model_mask_in_pipeline_mode(tool, tmp_path, demo_data_root):
    """MAE masks in the model: drawn from its generator (ratio 0.75)."""
    summary, pngs = run(
        tool, MAE_DEMO, tmp_path, 'pipeline', 2, demo_data_root
    )
    for record in summary:
        assert record['mask_source'] == 'model'
        assert record['num_tokens'] == 64
        assert record['masked_fraction'] == pytest.approx(0.75)
    # One titled panel per transform plus the masked image.
    assert Image.open(pngs[0]).size[0] > 4 * 64


def test_original_mode_has_no_mask(tool, tmp_path, demo_data_root):
    summary, pngs = run(
        tool, SIMMIM_DEMO, tmp_path, 'original', 2, demo_data_root
    )
    assert all('masked_fraction' not in r for r in summary)
    # The loaded photo at its own size, not the 64 px crop.
    assert Image.open(pngs[0]).size != (64, 64)
