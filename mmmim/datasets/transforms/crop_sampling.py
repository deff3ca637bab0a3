# Copyright (c) mmmim contributors. All rights reserved.
"""Random-resized-crop boxes drawn before the image is decoded.

The fast loaders (:class:`~.LoadAndRandomResizedCrop`,
:class:`~.LoadJpegForDeviceDecode`) need the crop box before they decode,
to pick the JPEG's DCT scale or to send the box to the device. The box is
drawn here from the image size alone, with the same draws, in the same
order, from NumPy's global generator as mmpretrain's
``RandomResizedCrop.rand_crop_params``: same seed, same box.
"""

import io
import math
from typing import Optional, Tuple

import numpy as np
from PIL import Image

__all__ = ['sample_crop_box', 'read_image_header', 'dct_scale_for']

#: (top, left, height, width) in pixels of the (EXIF-oriented) image.
Box = Tuple[int, int, int, int]

# EXIF orientations that swap the image's width and height.
_TRANSPOSING = (5, 6, 7, 8)
_EXIF_ORIENTATION = 0x0112


def sample_crop_box(
    height: int,
    width: int,
    crop_ratio_range: Tuple[float, float] = (0.08, 1.0),
    aspect_ratio_range: Tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
    max_attempts: int = 10,
    rng=None,
) -> Box:
    """Draw a random-resized-crop box for an image of ``height x width``.

    Up to ``max_attempts`` times: an area fraction uniform in
    ``crop_ratio_range``, a log-uniform aspect ratio (width / height) in
    ``aspect_ratio_range``, rounded sides; the first box that fits gets a
    uniform position. If none fits, the centred crop of the whole image
    clamped to the aspect-ratio range.

    Args:
        height (int): Image height in pixels.
        width (int): Image width in pixels.
        crop_ratio_range (tuple[float, float]): Range of the crop's area
            as a fraction of the image's. Defaults to (0.08, 1.0).
        aspect_ratio_range (tuple[float, float]): Range of the crop's
            width / height. Defaults to (3/4, 4/3).
        max_attempts (int): Draws before the centred fallback.
            Defaults to 10.
        rng: An object with NumPy's ``uniform`` and ``randint``
            (``np.random.RandomState``); ``None`` for ``np.random``, the
            generator mmpretrain's transform draws from.

    Returns:
        tuple[int, int, int, int]: ``(top, left, crop_h, crop_w)``.
    """
    if rng is None:
        rng = np.random
    area = height * width
    log_low = math.log(aspect_ratio_range[0])
    log_high = math.log(aspect_ratio_range[1])
    for _ in range(max_attempts):
        # The order of the draws matters: it is mmpretrain's, so the two
        # samplers agree box for box from the same generator state.
        crop_area = rng.uniform(*crop_ratio_range) * area
        ratio = math.exp(rng.uniform(log_low, log_high))
        crop_w = int(round(math.sqrt(crop_area * ratio)))
        crop_h = int(round(math.sqrt(crop_area / ratio)))
        if 0 < crop_w <= width and 0 < crop_h <= height:
            top = rng.randint(0, height - crop_h + 1)
            left = rng.randint(0, width - crop_w + 1)
            return int(top), int(left), crop_h, crop_w
    image_ratio = width / height
    crop_h, crop_w = height, width
    if image_ratio < min(aspect_ratio_range):
        crop_h = int(round(width / min(aspect_ratio_range)))
    elif image_ratio > max(aspect_ratio_range):
        crop_w = int(round(height * max(aspect_ratio_range)))
    return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w


def _exif_orientation(tiff: bytes) -> int:
    """The orientation tag of IFD0 in an EXIF TIFF block (1 if absent)."""
    order = {b'II': 'little', b'MM': 'big'}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return 1
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return 1
    count = int.from_bytes(tiff[ifd : ifd + 2], order)
    for entry in range(ifd + 2, min(ifd + 2 + 12 * count, len(tiff) - 11), 12):
        if int.from_bytes(tiff[entry : entry + 2], order) == _EXIF_ORIENTATION:
            return int.from_bytes(tiff[entry + 8 : entry + 10], order)
    return 1


def _jpeg_header(data: bytes) -> Optional[Tuple[int, int, int]]:
    """``(height, width, orientation)`` from a JPEG's markers, None if the
    walk fails (not a JPEG, or an odd file: Pillow decides then).

    A few microseconds against ~20 for Pillow's parser: the size is read
    from the frame header, the orientation from the EXIF block, which
    comes before it.
    """
    if data[:2] != b'\xff\xd8':
        return None
    orientation, pos, end = 1, 2, len(data)
    while pos + 9 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], 'big')
        if marker == 0xE1 and data[pos + 4 : pos + 10] == b'Exif\x00\x00':
            orientation = _exif_orientation(data[pos + 10 : pos + 2 + length])
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            # Start of frame: precision, height, width.
            height = int.from_bytes(data[pos + 5 : pos + 7], 'big')
            width = int.from_bytes(data[pos + 7 : pos + 9], 'big')
            return (height, width, orientation) if height and width else None
        elif marker == 0xDA:  # start of scan before any frame header
            return None
        pos += 2 + length
    return None


def read_image_header(data: bytes) -> Tuple[int, int, int, str]:
    """Size, EXIF orientation and format of an encoded image, without
    decoding its pixels (JPEG markers, else Pillow's parser).

    The size is that of the image as OpenCV's ``IMREAD_COLOR`` (mmcv's
    loader) returns it: width and height swapped for the transposing EXIF
    orientations.

    Args:
        data (bytes): The encoded file.

    Returns:
        tuple: ``(height, width, orientation, format)``; ``orientation`` is
        the EXIF code (1 for none), ``format`` Pillow's name (``'JPEG'``,
        ``'PNG'``, ...).
    """
    header = _jpeg_header(data)
    if header is not None:
        height, width, orientation = header
        image_format = 'JPEG'
    else:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            orientation = 1
            # getexif() parses the block; most files have none: look first.
            if 'exif' in image.info:
                orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
            image_format = image.format or ''
        height, width = (
            (width, height) if orientation in _TRANSPOSING else (height, width)
        )
        return height, width, int(orientation), image_format
    if orientation in _TRANSPOSING:
        height, width = width, height
    return height, width, int(orientation), image_format


def dct_scale_for(crop_h: int, crop_w: int, out_h: int, out_w: int) -> int:
    """The coarsest JPEG DCT scale (1, 2, 4 or 8) at which the crop still
    has at least the output's pixels on both sides: decoding at it never
    makes the resize upsample where the full decode would not.

    Args:
        crop_h (int): Crop height in full-resolution pixels.
        crop_w (int): Crop width in full-resolution pixels.
        out_h (int): Output height.
        out_w (int): Output width.

    Returns:
        int: The scale denominator.
    """
    for scale in (8, 4, 2):
        if crop_h >= out_h * scale and crop_w >= out_w * scale:
            return scale
    return 1
