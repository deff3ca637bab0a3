# Copyright (c) mmmim contributors. All rights reserved.
"""LoadAndRandomResizedCrop against mmpretrain's LoadImageFromFile +
RandomResizedCrop: the same crop distribution (box for box from the same
generator state), the same pixels within a PSNR bound on real JPEGs, the
same packed and normalised batch."""

import io
import math

import mmcv
import numpy as np
import pytest
import torch
from mmcv.transforms import RandomFlip
from PIL import Image

from mmmim.datasets.transforms import LoadAndRandomResizedCrop
from mmmim.datasets.transforms.crop_sampling import (
    read_image_header,
    sample_crop_box,
)
from tests.installed import require

# The MAE recipe (configs/_base_/datasets/imagenet_mae.py), the SimMIM one
# and the 64-pixel demo.
MAE = dict(
    scale=224,
    crop_ratio_range=(0.2, 1.0),
    backend='pillow',
    interpolation='bicubic',
)
SIMMIM = dict(
    scale=192,
    crop_ratio_range=(0.67, 1.0),
    aspect_ratio_range=(3.0 / 4.0, 4.0 / 3.0),
    backend='pillow',
    interpolation='bilinear',
)
DEMO = dict(MAE, scale=64, crop_ratio_range=(0.35, 1.0))
# Measured on the 139 demo JPEGs: at 224 px (never a reduced decode there)
# min 54.7 dB, median 73 dB (torch's and Pillow's bicubic are at most one
# grey level apart); at 64 px with the reduced DCT decode min 33.6 dB,
# median 48 dB.
PSNR_FULL_DECODE = 50.0
PSNR_DCT_MIN, PSNR_DCT_MEDIAN = 30.0, 45.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def exact(path, box, crop) -> np.ndarray:
    """mmpretrain's output for ``box``: mmcv's decode, crop, resize."""
    top, left, h, w = box
    img = mmcv.imread(str(path))
    return mmcv.imresize(
        img[top : top + h, left : left + w],
        (crop['scale'], crop['scale']),
        interpolation=crop['interpolation'],
        backend=crop['backend'],
    )


def mmpretrain_crop(**crop):
    from mmpretrain.datasets.transforms import RandomResizedCrop

    return RandomResizedCrop(**crop)


@pytest.fixture(scope='module')
def jpegs(demo_data_root):
    paths = sorted((demo_data_root / 'train').rglob('*.jpg'))
    assert len(paths) > 100
    return paths


@pytest.mark.parametrize('crop', [MAE, SIMMIM], ids=['mae', 'simmim'])
@pytest.mark.parametrize('size', [(375, 500), (1000, 40), (40, 1000), (7, 5)])
def test_same_boxes_as_mmpretrain_from_the_same_state(crop, size):
    # (1000, 40) and (40, 1000) exhaust the attempts: the centred fallback.
    reference = mmpretrain_crop(**crop)
    img = np.zeros(size + (3,), np.uint8)
    for seed in range(200):
        np.random.seed(seed)
        expected = reference.rand_crop_params(img)
        np.random.seed(seed)
        got = sample_crop_box(
            *size,
            crop['crop_ratio_range'],
            crop.get('aspect_ratio_range', (3.0 / 4.0, 4.0 / 3.0)),
        )
        assert got == tuple(int(v) for v in expected), seed


def test_other_ranges_give_other_boxes():
    # Negative control of the test above: it notices a changed parameter.
    reference = mmpretrain_crop(**MAE)
    img = np.zeros((375, 500, 3), np.uint8)
    differ = 0
    for seed in range(50):
        np.random.seed(seed)
        expected = reference.rand_crop_params(img)
        np.random.seed(seed)
        differ += sample_crop_box(375, 500, (0.3, 1.0)) != expected
    assert differ == 50


def _box_stats(boxes, height, width):
    boxes = np.asarray(boxes, np.float64)
    top, left, h, w = boxes.T
    return dict(
        area=h * w / (height * width),
        log_ratio=np.log(w / h),
        centre_x=(left + w / 2) / width,
        centre_y=(top + h / 2) / height,
    )


def test_crop_distribution_matches_mmpretrain_ks():
    """Two-sample Kolmogorov-Smirnov tests on 4000 boxes of each sampler,
    independent seeds; and a 0.25 instead of 0.2 lower area bound is
    detected (negative control)."""
    stats = require('scipy.stats')
    height, width, draws = 375, 500, 4000
    fast = LoadAndRandomResizedCrop(**MAE)
    reference = mmpretrain_crop(**MAE)
    img = np.zeros((height, width, 3), np.uint8)
    np.random.seed(1)
    ours = [fast._sample(height, width) for _ in range(draws)]
    np.random.seed(2)
    theirs = [reference.rand_crop_params(img) for _ in range(draws)]
    narrower = LoadAndRandomResizedCrop(
        **dict(MAE, crop_ratio_range=(0.25, 1))
    )
    np.random.seed(3)
    other = [narrower._sample(height, width) for _ in range(draws)]
    a, b, c = (_box_stats(x, height, width) for x in (ours, theirs, other))
    p_values = {k: stats.ks_2samp(a[k], b[k]).pvalue for k in a}
    print('KS p-values, fast path vs mmpretrain:', p_values)
    # Four tests at a family-wise 1 %: Bonferroni, 0.25 % each. Under the
    # null hypothesis the p-values are uniform (here 0.81, 0.39, 0.009,
    # 0.42).
    assert min(p_values.values()) > 0.01 / len(p_values), p_values
    control = stats.ks_2samp(c['area'], b['area']).pvalue
    print('KS p-value, area range (0.25, 1) vs (0.2, 1):', control)
    assert control < 1e-6


def test_transform_boxes_equal_mmpretrain_on_jpegs(jpegs):
    fast = LoadAndRandomResizedCrop(**MAE)
    reference = mmpretrain_crop(**MAE)
    for index, path in enumerate(jpegs[::7]):
        np.random.seed(index)
        box = fast(dict(img_path=str(path)))['crop_box']
        np.random.seed(index)
        expected = reference.rand_crop_params(mmcv.imread(str(path)))
        assert box == tuple(int(v) for v in expected), path


@pytest.mark.parametrize('crop', [MAE, SIMMIM], ids=['mae', 'simmim'])
def test_pixels_match_the_exact_path(jpegs, crop):
    fast = LoadAndRandomResizedCrop(**crop)
    values = []
    for index, path in enumerate(jpegs[::3]):
        np.random.seed(index)
        out = fast(dict(img_path=str(path)))
        values.append(psnr(out['img'], exact(path, out['crop_box'], crop)))
    print(f'PSNR min {min(values):.1f} dB, median {np.median(values):.1f}')
    assert min(values) >= PSNR_FULL_DECODE


def test_reduced_dct_decode_within_bound(jpegs):
    fast = LoadAndRandomResizedCrop(**DEMO)
    values, reduced = [], 0
    for index, path in enumerate(jpegs):
        np.random.seed(index)
        out = fast(dict(img_path=str(path)))
        top, left, h, w = out['crop_box']
        height, width = out['ori_shape']
        reduced += height * width >= 12 * 64 * 64 and min(h, w) >= 128
        values.append(psnr(out['img'], exact(path, out['crop_box'], DEMO)))
    print(
        f'{reduced} of {len(values)} reduced; PSNR min {min(values):.1f} '
        f'dB, median {np.median(values):.1f} dB'
    )
    assert reduced > len(values) // 2  # the DCT path is exercised
    assert min(values) >= PSNR_DCT_MIN
    assert np.median(values) >= PSNR_DCT_MEDIAN


def test_shifted_box_fails_the_bound(jpegs):
    # Negative control: a crop two pixels off is caught by the threshold.
    fast = LoadAndRandomResizedCrop(**MAE)
    values = []
    for index, path in enumerate(jpegs[::10]):
        np.random.seed(index)
        out = fast(dict(img_path=str(path)))
        top, left, h, w = out['crop_box']
        shifted = (max(top - 2, 0), max(left - 2, 0), h, w)
        if shifted != out['crop_box']:
            values.append(psnr(out['img'], exact(path, shifted, MAE)))
    print(f'shifted: PSNR max {max(values):.1f} dB')
    assert max(values) < PSNR_FULL_DECODE


def test_output_contract_and_normalised_batch(jpegs):
    """uint8 BGR [H, W, 3] for RandomFlip/PackInputs, uint8 [3, H, W]
    tensors after packing, and mmpretrain's SelfSupDataPreprocessor (the
    MAE configs') gives the exact path's batch within the bound."""
    from mmengine.dataset import default_collate
    from mmpretrain.datasets.transforms import PackInputs
    from mmpretrain.models.utils.data_preprocessor import (
        SelfSupDataPreprocessor,
    )

    fast = LoadAndRandomResizedCrop(**MAE)
    flip, pack = RandomFlip(prob=0.5), PackInputs()
    ours, theirs = [], []
    for index, path in enumerate(jpegs[:8]):
        np.random.seed(index)
        out = fast(dict(img_path=str(path)))
        assert out['img'].dtype == np.uint8 and out['img'].shape == (
            224,
            224,
            3,
        )
        assert out['img_shape'] == (224, 224)
        reference = dict(out, img=exact(path, out['crop_box'], MAE))
        np.random.seed(index)
        ours.append(pack(flip(out)))
        np.random.seed(index)
        theirs.append(pack(flip(reference)))
        assert ours[-1]['inputs'].dtype == torch.uint8
        assert ours[-1]['inputs'].shape == (3, 224, 224)
    preprocessor = SelfSupDataPreprocessor(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    )
    a = preprocessor(default_collate(ours))['inputs']
    b = preprocessor(default_collate(theirs))['inputs']
    assert a.shape == b.shape == (8, 3, 224, 224) and a.dtype == torch.float32
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    grey = ((a - b) * std).numpy()  # back on the 0-255 scale
    mse = float(np.mean(grey**2))
    assert 10 * math.log10(255.0**2 / mse) >= PSNR_FULL_DECODE
    # torch's and Pillow's fixed-point filters: at most 2 grey levels.
    assert np.abs(grey).max() <= 2.0 + 1e-3


def _encoded(fmt: str, orientation: int = 1) -> bytes:
    """A real photo (the demo's chelsea cat, 451 x 300) re-encoded, with an
    EXIF orientation tag for JPEG."""
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
def test_rotated_and_non_jpeg_files_follow_mmcv(tmp_path, fmt, orientation):
    # mmcv's OpenCV decode applies the EXIF rotation: the box is drawn on
    # the rotated image and the pixels match it.
    path = tmp_path / f'image.{fmt.lower()}'
    path.write_bytes(_encoded(fmt, orientation))
    height, width, got_orientation, got_format = read_image_header(
        path.read_bytes()
    )
    assert (got_orientation, got_format) == (orientation, fmt)
    decoded = mmcv.imread(str(path))
    assert decoded.shape[:2] == (height, width)
    fast = LoadAndRandomResizedCrop(**MAE)
    np.random.seed(orientation)
    out = fast(dict(img_path=str(path)))
    np.random.seed(orientation)
    reference = mmpretrain_crop(**MAE)  # a method of a live object
    expected = reference.rand_crop_params(decoded)
    assert out['crop_box'] == tuple(int(v) for v in expected)
    assert psnr(out['img'], exact(path, out['crop_box'], MAE)) >= 50


def test_header_parser_agrees_with_pillow(jpegs):
    for path in jpegs:
        with Image.open(path) as image:
            width, height = image.size
        assert read_image_header(path.read_bytes()) == (
            height,
            width,
            1,
            'JPEG',
        )


def test_unreadable_files_follow_the_policy(tmp_path):
    path = tmp_path / 'broken.jpg'
    path.write_bytes(_encoded('JPEG')[:200])
    with pytest.raises(ValueError, match='broken.jpg'):
        LoadAndRandomResizedCrop(**MAE)(dict(img_path=str(path)))
    skip = LoadAndRandomResizedCrop(on_error='skip', **MAE)
    assert skip(dict(img_path=str(path))) is None
    with pytest.raises(ValueError, match='on_error'):
        LoadAndRandomResizedCrop(on_error='ignore', **MAE)


def test_registered_as_a_drop_in():
    from mmmim.registry import TRANSFORMS

    transform = TRANSFORMS.build(
        dict(type='mmmim.LoadAndRandomResizedCrop', **SIMMIM)
    )
    assert transform.size == (192, 192)
    assert transform.aspect_ratio_range == (3.0 / 4.0, 4.0 / 3.0)
    assert 'interpolation=bilinear' in repr(transform)


def test_full_decode_gives_opencvs_pixels(jpegs):
    # The full-scale decode goes through simplejpeg (the same libjpeg-turbo
    # defaults, without OpenCV's overhead): bit-identical BGR pixels.
    import cv2

    from mmmim.datasets.transforms import fast_crop

    assert fast_crop.simplejpeg is not None  # a runtime requirement
    for path in jpegs:
        buffer = np.frombuffer(path.read_bytes(), np.uint8)
        ours = fast_crop.LoadAndRandomResizedCrop._decode(
            buffer, 1, upright_jpeg=True
        )
        np.testing.assert_array_equal(
            ours, cv2.imdecode(buffer, cv2.IMREAD_COLOR)
        )
    # Negative control: RGB order is not what mmcv's pipeline sees.
    rgb = fast_crop.simplejpeg.decode_jpeg(buffer, colorspace='RGB')
    assert not np.array_equal(rgb, ours)


def test_flip_in_the_same_step_as_random_flip(jpegs):
    from scipy.stats import binomtest

    from mmmim.datasets.transforms import LoadAndRandomResizedCrop

    crop = dict(MAE)
    plain = LoadAndRandomResizedCrop(**crop)
    flipping = LoadAndRandomResizedCrop(flip_prob=0.5, **crop)
    flips, path = 0, str(jpegs[0])
    for seed in range(40):
        np.random.seed(seed)
        unflipped = plain(dict(img_path=path))
        np.random.seed(seed)
        out = flipping(dict(img_path=path))
        # The same box (drawn first), then mmcv's flip of that image.
        assert out['crop_box'] == unflipped['crop_box']
        expected = (
            unflipped['img'][:, ::-1] if out['flip'] else unflipped['img']
        )
        np.testing.assert_array_equal(out['img'], expected)
        assert out['flip_direction'] == ('horizontal' if out['flip'] else None)
        flips += out['flip']
    assert 0 < flips < 40
    # RandomFlip(prob=0.5)'s distribution: the transform's flips are a
    # fair coin (two-sided binomial test); a coin of 0.35 would be found.
    np.random.seed(0)
    small = LoadAndRandomResizedCrop(flip_prob=0.5, scale=8)
    draws = [small(dict(img_path=path))['flip'] for _ in range(600)]
    assert binomtest(sum(draws), 600, 0.5).pvalue > 0.01
    assert binomtest(sum(draws), 600, 0.35).pvalue < 1e-6
    with pytest.raises(ValueError, match='flip_prob'):
        LoadAndRandomResizedCrop(flip_prob=1.5, **crop)
