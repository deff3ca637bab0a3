# Copyright (c) mmmim contributors. All rights reserved.
"""Input kinds and bad input of ``reconstruct`` / ``extract_features``,
the inferencers on clips, and ``tools/infer.py``."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmmim.apis import (
    ReconstructionInferencer,
    extract_features,
    get_model,
    reconstruct,
)
from mmmim.apis.inputs import iter_batches, read_image

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / 'configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py')
VIDEO_DEMO = str(
    REPO / 'configs/videomae/videomae_vit-tiny-p8_1xb8-coslr-demo.py'
)


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return get_model(DEMO)


@pytest.fixture
def photos(tmp_path, demo_data_root):
    """Three real photos in a folder with a subfolder."""
    files = sorted((demo_data_root / 'val').rglob('*.jpg'))[:3]
    (tmp_path / 'photos' / 'sub').mkdir(parents=True)
    for i, src in enumerate(files):
        dst = tmp_path / 'photos' / ('sub' if i == 2 else '') / src.name
        shutil.copy(src, dst)
    return tmp_path / 'photos'


def test_files_arrays_and_tensors_agree(model, photos):
    files = sorted(str(p) for p in photos.rglob('*.jpg'))
    from_folder, names = extract_features(
        model, str(photos), return_names=True
    )
    assert sorted(names) == files  # recursive
    arrays = np.stack([read_image(f, 64) for f in names])  # uint8 RGB
    from_arrays = extract_features(model, arrays)
    np.testing.assert_array_equal(from_arrays, from_folder)
    _, _, batch = next(iter_batches(model, names))
    from_tensor = extract_features(model, batch)
    np.testing.assert_array_equal(from_tensor, from_folder)
    # The model sees RGB (its preprocessor converts mmpretrain's BGR),
    # normalised with ImageNet's statistics.
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    rgb = torch.from_numpy(arrays).permute(0, 3, 1, 2).float()
    torch.testing.assert_close(batch, (rgb - mean) / std)


def test_same_seed_same_masks_other_seed_other_masks(model, photos):
    first = reconstruct(model, str(photos), seed=3)
    again = reconstruct(model, str(photos), seed=3)
    other = reconstruct(model, str(photos), seed=4)
    for a, b in zip(first, again):
        assert np.array_equal(a['mask'], b['mask'])
        assert np.array_equal(a['reconstruction'], b['reconstruction'])
    assert any(
        not np.array_equal(a['mask'], c['mask']) for a, c in zip(first, other)
    )
    half = reconstruct(model, str(photos), mask_ratio=0.5)
    assert all(r['mask'].mean() == 0.5 for r in half)


def test_reconstruction_inferencer_matches_reconstruct(
    model, photos, tmp_path
):
    inferencer = ReconstructionInferencer(DEMO)
    inferencer.model.load_state_dict(model.state_dict())
    out = inferencer(
        str(photos), batch_size=2, seed=5, out_dir=str(tmp_path / 'vis')
    )
    direct = reconstruct(model, str(photos), seed=5, batch_size=2)
    assert [p['name'] for p in out['predictions']] == [
        r['name'] for r in direct
    ]
    for pred, ref in zip(out['predictions'], direct):
        # Same seeds per batch: the same masks and reconstructions.
        assert np.array_equal(pred['mask'], ref['mask'])
        assert np.array_equal(pred['reconstruction'], ref['reconstruction'])
        assert 'panel' not in pred
    assert len(out['visualization']) == 3
    assert all(Path(f).is_file() for f in out['visualization'])


def test_corrupt_image_raises_or_is_skipped(model, photos):
    bad = photos / 'broken.jpg'
    bad.write_bytes(Path(next(photos.glob('*.jpg'))).read_bytes()[:200])
    with pytest.raises(ValueError, match="broken.jpg.*on_error='skip'"):
        extract_features(model, str(photos))
    with pytest.warns(UserWarning, match='skipped: cannot read image .*bro'):
        features, names = extract_features(
            model, str(photos), on_error='skip', return_names=True
        )
    assert features.shape[0] == 3 and not any('broken' in n for n in names)


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    ramp = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    path = tmp_path / 'ramp16.png'
    Image.fromarray(ramp).save(path)
    pixels = read_image(str(path), 64)
    assert pixels.max() == 255 and pixels.min() == 0
    assert len(np.unique(pixels)) > 200  # a ramp, not a white image


def test_bad_inputs(model, tmp_path):
    with pytest.raises(ValueError, match='uint8 RGB pixels, got float32'):
        extract_features(model, np.zeros((64, 64, 3), np.float32))
    with pytest.raises(ValueError, match=r'\[H, W, 3\]'):
        extract_features(model, np.zeros((64, 64), np.uint8))
    with pytest.raises(FileNotFoundError, match='nothing.* not found'):
        extract_features(model, str(tmp_path / 'nothing'))
    clip = tmp_path / 'clip.mp4'
    clip.write_bytes(b'')
    with pytest.raises(
        ValueError, match='clip.mp4 is a video, but the model takes images'
    ):
        extract_features(model, str(clip))
    with pytest.raises(TypeError, match='got int'):
        extract_features(model, [3])


def test_videomae_clips(demo_video_root, tmp_path, photos):
    torch.manual_seed(0)
    video_model = get_model(VIDEO_DEMO)
    clip = str(demo_video_root / 'videos' / 'bikes_6.mp4')
    results = reconstruct(video_model, clip, seed=0, save_dir=tmp_path)
    (result,) = results
    t = video_model.backbone.grid_size[0] * 2
    assert result['original'].shape == (t, 64, 64, 3)
    assert result['mask'].mean() == pytest.approx(0.9, abs=0.05)
    # Tube masking: the same cells in every temporal slot.
    slots = result['mask'].reshape(video_model.backbone.grid_size[0], -1)
    assert (slots == slots[:1]).all()
    assert (tmp_path / 'bikes_6.png').is_file()
    features = extract_features(video_model, clip, pool='avg')
    assert features.shape == (1, video_model.backbone.embed_dims)
    inferencer = ReconstructionInferencer(VIDEO_DEMO)
    out = inferencer(clip, seed=0)
    assert out['predictions'][0]['mask'].shape == result['mask'].shape
    with pytest.raises(
        ValueError,
        match='is an image, but the model takes videos; use an image model',
    ):
        extract_features(video_model, str(next(photos.glob('*.jpg'))))


def test_command_line(tmp_path, photos):
    out = tmp_path / 'features.npy'
    cmd = [sys.executable, str(REPO / 'tools' / 'infer.py')]
    subprocess.run(
        [
            *cmd,
            'features',
            DEMO,
            str(photos),
            '--out',
            str(out),
            '--pool',
            'avg',
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    features = np.load(out)
    names = (tmp_path / 'features.txt').read_text().split()
    assert features.shape == (3, 192) and len(names) == 3
    subprocess.run(
        [
            *cmd,
            'reconstruct',
            DEMO,
            str(photos),
            '--out-dir',
            str(tmp_path / 'rec'),
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    assert len(list((tmp_path / 'rec').glob('*.png'))) == 4
    proc = subprocess.run(
        [*cmd, 'features', DEMO, str(photos)], capture_output=True, text=True
    )
    assert proc.returncode == 2 and 'needs --out FILE.npy' in proc.stderr
