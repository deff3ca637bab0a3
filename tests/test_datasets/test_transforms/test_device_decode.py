# Copyright (c) mmmim contributors. All rights reserved.
"""The device-decode path (LoadJpegForDeviceDecode in the loader, the
decode in JpegDecodeDataPreprocessor) against the CPU fast path, on the
CPU: same boxes, same pixels within a PSNR bound, same normalised batch."""

import io
import math

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, default_collate, pseudo_collate
from PIL import Image

from mmmim.datasets.transforms import (
    LoadAndRandomResizedCrop,
    LoadJpegForDeviceDecode,
)
from mmmim.datasets.transforms.device_decode import decode_and_crop
from mmmim.models.data_preprocessors import JpegDecodeDataPreprocessor

CROP = dict(scale=224, crop_ratio_range=(0.2, 1.0), interpolation='bicubic')
MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
# Measured on the demo JPEGs: min 55 dB (torchvision's and OpenCV's
# libjpeg-turbo decodes agree; float and uint8 resize differ by rounding).
PSNR_BOUND = 50.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


@pytest.fixture(scope='module')
def jpegs(demo_data_root):
    return sorted((demo_data_root / 'train').rglob('*.jpg'))[::9]


def both(path, seed, **overrides):
    """(device recipe output as [H, W, 3] BGR, fast path output, packed
    device results) for one draw; no flip."""
    device = LoadJpegForDeviceDecode(flip_prob=0.0, **CROP)
    fast = LoadAndRandomResizedCrop(backend='pillow', **CROP)
    np.random.seed(seed)
    packed = device(dict(img_path=str(path)))
    np.random.seed(seed)
    expected = fast(dict(img_path=str(path)))
    recipe = dict(packed['device_decode'], **overrides)
    out = decode_and_crop([packed['img']], [recipe], 'cpu')[0]
    bgr = out.permute(1, 2, 0).numpy()[:, :, ::-1]
    return bgr, expected, packed


def test_same_boxes_and_pixels_as_the_fast_path(jpegs):
    values = []
    for seed, path in enumerate(jpegs):
        bgr, expected, packed = both(path, seed)
        assert packed['device_decode']['box'] == expected['crop_box']
        assert packed['img'].dtype == torch.uint8 and packed['img'].ndim == 1
        values.append(psnr(bgr, expected['img']))
    print(f'PSNR min {min(values):.1f} dB, median {np.median(values):.1f}')
    assert min(values) >= PSNR_BOUND


def test_shifted_box_fails_the_bound(jpegs):
    # Negative control: the same comparison notices a box 2 pixels off.
    values = []
    for seed, path in enumerate(jpegs):
        device = LoadJpegForDeviceDecode(flip_prob=0.0, **CROP)
        np.random.seed(seed)
        top, left, h, w = device(dict(img_path=str(path)))['device_decode'][
            'box'
        ]
        if top >= 2:
            bgr, expected, _ = both(path, seed, box=(top - 2, left, h, w))
            values.append(psnr(bgr, expected['img']))
    assert values and max(values) < PSNR_BOUND


def test_flip(jpegs):
    bgr, _, packed = both(jpegs[0], 0)
    recipe = dict(packed['device_decode'], flip=True)
    flipped = decode_and_crop([packed['img']], [recipe])[0]
    assert torch.equal(
        flipped.flip(2).permute(1, 2, 0), torch.tensor(bgr[:, :, ::-1].copy())
    )


def _encoded(fmt: str, orientation: int = 1) -> bytes:
    import skimage.data

    image = Image.fromarray(skimage.data.chelsea())
    buffer = io.BytesIO()
    if fmt == 'JPEG':
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(buffer, 'JPEG', exif=exif.tobytes(), quality=95)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    'fmt,orientation',
    [('JPEG', o) for o in range(1, 9)] + [('PNG', 1)],
)
def test_orientations_and_other_formats(tmp_path, fmt, orientation):
    path = tmp_path / f'image.{fmt.lower()}'
    path.write_bytes(_encoded(fmt, orientation))
    bgr, expected, packed = both(path, orientation)
    assert packed['device_decode']['orientation'] == orientation
    assert bgr.shape == expected['img'].shape
    assert psnr(bgr, expected['img']) >= PSNR_BOUND


@pytest.mark.parametrize('to_rgb', [True, False])
def test_preprocessor_gives_the_fast_paths_batch(jpegs, to_rgb):
    """pseudo_collate + JpegDecodeDataPreprocessor against default_collate
    + mmpretrain's SelfSupDataPreprocessor on the fast path."""
    from mmpretrain.models.utils.data_preprocessor import (
        SelfSupDataPreprocessor,
    )

    device = Compose(
        [
            dict(type='mmmim.LoadJpegForDeviceDecode', flip_prob=0.0, **CROP),
            dict(
                type='mmpretrain.PackInputs',
                meta_keys=('img_path', 'device_decode'),
            ),
        ]
    )
    fast = Compose(
        [
            dict(
                type='mmmim.LoadAndRandomResizedCrop',
                backend='pillow',
                **CROP,
            ),
            dict(type='mmpretrain.PackInputs'),
        ]
    )
    ours, theirs = [], []
    for seed, path in enumerate(jpegs[:6]):
        np.random.seed(seed)
        ours.append(device(dict(img_path=str(path))))
        np.random.seed(seed)
        theirs.append(fast(dict(img_path=str(path))))
    kwargs = dict(mean=MEAN, std=STD, to_rgb=to_rgb)
    a = JpegDecodeDataPreprocessor(**kwargs)(pseudo_collate(ours))
    b = SelfSupDataPreprocessor(**kwargs)(default_collate(theirs))
    assert a['inputs'].shape == b['inputs'].shape == (6, 3, 224, 224)
    assert len(a['data_samples']) == 6
    std = torch.tensor(STD).view(1, 3, 1, 1)
    grey = ((a['inputs'] - b['inputs']) * std).numpy()
    mse = float(np.mean(grey**2))
    assert 10 * math.log10(255.0**2 / mse) >= PSNR_BOUND


def test_preprocessor_needs_the_recipes():
    with pytest.raises(ValueError, match='device_decode'):
        JpegDecodeDataPreprocessor()(
            dict(inputs=[torch.zeros(4, dtype=torch.uint8)])
        )


def test_rejects_an_interpolation_it_cannot_reproduce():
    with pytest.raises(ValueError, match='bicubic'):
        LoadJpegForDeviceDecode(scale=224, interpolation='lanczos')


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_cuda_decode_matches_cpu(jpegs):
    _, _, packed = both(jpegs[0], 0)
    recipe = packed['device_decode']
    cpu = decode_and_crop([packed['img']], [recipe], 'cpu')[0]
    gpu = decode_and_crop([packed['img']], [recipe], 'cuda')[0].cpu()
    assert psnr(cpu.numpy(), gpu.numpy()) >= 40
