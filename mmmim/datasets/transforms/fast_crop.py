# Copyright (c) mmmim contributors. All rights reserved.
"""Load, random-resized-crop and resize in one step: mmpretrain's crop
distribution, a faster resize, and reduced decodes of large JPEGs."""

from typing import Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmengine.logging import MMLogger
from PIL import Image

from mmmim.registry import TRANSFORMS

try:  # a runtime requirement; OpenCV decodes the same pixels without it
    import simplejpeg
except ImportError:  # pragma: no cover
    simplejpeg = None

from .crop_sampling import (
    Box,
    dct_scale_for,
    read_image_header,
    sample_crop_box,
)

__all__ = ['LoadAndRandomResizedCrop', 'resize_crop']

# OpenCV decodes a JPEG at 1/2, 1/4 or 1/8 of its size in the DCT domain
# (libjpeg's scaled IDCT): fewer pixels to decode and to resize.
_DECODE_FLAGS = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}
# Interpolations whose Pillow resize torch reproduces (antialiased, the
# same Keys a = -0.5 cubic / triangle filters, uint8 SIMD kernels).
_TORCH_MODES = ('bilinear', 'bicubic')
# A reduced decode saves ~1.2-1.5 ns per image pixel (measured on 0.3-2
# Mpx photos) but the crop then needs Pillow's resize (fractional box),
# ~4x the cost of torch's: break-even at ~13x the output's pixels.
DCT_MIN_PIXELS_RATIO = 12
_PIL_MODES = {
    'bilinear': Image.Resampling.BILINEAR,
    'bicubic': Image.Resampling.BICUBIC,
}


def resize_crop(
    img: np.ndarray,
    box: Box,
    size: Tuple[int, int],
    interpolation: str = 'bicubic',
    backend: str = 'pillow',
    dct_scale: int = 1,
) -> np.ndarray:
    """Crop ``box`` out of ``img`` and resize it to ``size``.

    With ``backend='pillow'`` and a bilinear or bicubic interpolation the
    resize is torch's antialiased uint8 kernel, which matches Pillow's
    (at most 1 grey level apart) at about 5x its speed; otherwise it is
    ``mmcv.imresize`` as in mmpretrain's ``RandomResizedCrop``.

    Args:
        img (np.ndarray): ``[H, W, 3]`` uint8, decoded at ``1 / dct_scale``
            of the size ``box`` refers to.
        box (tuple[int, int, int, int]): ``(top, left, h, w)`` in full-size
            pixels.
        size (tuple[int, int]): Output ``(h, w)``.
        interpolation (str): As mmcv's. Defaults to 'bicubic'.
        backend (str): ``'pillow'`` or ``'cv2'``. Defaults to 'pillow'.
        dct_scale (int): The scale ``img`` was decoded at (``backend``
            pillow, bilinear or bicubic only); Pillow then resizes the
            box, scaled to decoded pixels, with its fractional edges.
            Defaults to 1.

    Returns:
        np.ndarray: ``[h, w, 3]`` uint8; from torch's resize a view of a
        contiguous ``[3, h, w]`` buffer, which ``PackInputs`` packs without
        a copy.
    """
    top, left, crop_h, crop_w = box
    if dct_scale > 1:
        # In decoded pixels the box has fractional edges; rounding them
        # would shift the crop by up to half a decoded pixel (measured:
        # 25 dB instead of 37 dB PSNR at 64 px), so Pillow resamples the
        # exact box. Its resize is ~4x slower than torch's, but the image
        # it reads is at least 4x smaller.
        resized = Image.fromarray(img).resize(
            size[::-1],
            _PIL_MODES[interpolation],
            box=(
                left / dct_scale,
                top / dct_scale,
                (left + crop_w) / dct_scale,
                (top + crop_h) / dct_scale,
            ),
        )
        return np.array(resized)
    y0, x0, y1, x1 = top, left, top + crop_h, left + crop_w
    crop = img[y0:y1, x0:x1]  # a view: the resize reads it in place
    if backend == 'pillow' and interpolation in _TORCH_MODES:
        # [1, C, H, W] with channels-last strides: torch's uint8 kernel
        # works on the interleaved pixels and returns them interleaved, so
        # the [H, W, C] view of its output needs no copy.
        chw = torch.from_numpy(crop).permute(2, 0, 1).unsqueeze(0)
        out = F.interpolate(chw, size=size, mode=interpolation, antialias=True)
        return out[0].permute(1, 2, 0).numpy()
    return mmcv.imresize(
        crop, size[::-1], interpolation=interpolation, backend=backend
    )


@TRANSFORMS.register_module()
class LoadAndRandomResizedCrop(BaseTransform):
    """``LoadImageFromFile`` + mmpretrain's ``RandomResizedCrop`` in one
    step: the same crop distribution, a faster resize and, for large
    JPEGs, fewer pixels decoded.

    The crop box is drawn from the file's header, before decoding, with
    the draws of mmpretrain's ``RandomResizedCrop`` (same generator state,
    same box: :func:`~.crop_sampling.sample_crop_box`). The JPEG is decoded
    by OpenCV as mmcv does, and the crop is resized with torch's
    antialiased uint8 kernel (Pillow's filters, at most 1 grey level from
    Pillow's result, ~5x faster). A JPEG of at least
    ``DCT_MIN_PIXELS_RATIO`` (12) times the output's pixels, where the
    smaller decode pays for Pillow's slower resize of a fractional box, is
    decoded at the coarsest DCT scale (1/2, 1/4, 1/8) that still leaves the
    crop at least the output's size, so the reduced decode never causes
    upsampling. Files that are not JPEGs, or carry an EXIF rotation, are
    decoded in full as mmcv does and cropped in the same way.

    Drop-in for the first two steps of a pre-training pipeline: the output
    is the ``[H, W, 3]`` uint8 BGR array mmcv's loader and the crop give,
    for ``RandomFlip``, ``GenerateMask`` and ``PackInputs`` (which makes
    the uint8 ``[3, H, W]`` tensor the data preprocessor normalises on the
    model's device).

    **Required Keys:** img_path

    **Added Keys:** img, img_shape, ori_shape, crop_box (and flip,
    flip_direction with ``flip_prob``)

    Args:
        scale (int | Sequence[int]): Output size; an int for a square,
            else ``(h, w)``. As mmpretrain's ``RandomResizedCrop``.
        crop_ratio_range (tuple[float, float]): Area fraction range.
            Defaults to (0.08, 1.0).
        aspect_ratio_range (tuple[float, float]): Width / height range.
            Defaults to (3/4, 4/3).
        max_attempts (int): Draws before the centred fallback.
            Defaults to 10.
        interpolation (str): As mmpretrain's. Defaults to 'bilinear'.
        backend (str): As mmpretrain's: ``'pillow'`` gets the fast path
            (for bilinear and bicubic); ``'cv2'`` resizes with OpenCV from
            the full decode, as mmpretrain would. Defaults to 'cv2'.
        dct_scaling (bool): Decode large JPEGs at a reduced DCT scale where
            the crop allows (PSNR against the full decode: 33-48 dB at 64
            px, see docs/en/benchmarks.md). Defaults to True.
        on_error (str): ``'raise'`` or ``'skip'`` an unreadable file, as
            :class:`~.LoadImageOrSkip`. Defaults to 'raise'.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.
        flip_prob (float): Also flip horizontally with this probability,
            in place of a following ``RandomFlip(prob=flip_prob)``: the same
            distribution and keys (``flip``, ``flip_direction``), one draw
            of ``np.random.rand()`` after the box instead of mmcv's
            ``np.random.choice`` (about 40 us per image). Defaults to 0
            (no flip here).
    """

    def __init__(
        self,
        scale: Union[int, Sequence[int]],
        crop_ratio_range: Tuple[float, float] = (0.08, 1.0),
        aspect_ratio_range: Tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
        max_attempts: int = 10,
        interpolation: str = 'bilinear',
        backend: str = 'cv2',
        dct_scaling: bool = True,
        on_error: str = 'raise',
        backend_args: Optional[dict] = None,
        flip_prob: float = 0.0,
    ) -> None:
        if not 0.0 <= flip_prob <= 1.0:
            raise ValueError(f'flip_prob must be in [0, 1], got {flip_prob}')
        if on_error not in ('raise', 'skip'):
            raise ValueError(
                f"on_error must be 'raise' or 'skip', got {on_error!r}."
            )
        if crop_ratio_range[0] > crop_ratio_range[1] or (
            aspect_ratio_range[0] > aspect_ratio_range[1]
        ):
            raise ValueError(
                'ranges must be (min, max), got crop_ratio_range '
                f'{crop_ratio_range}, aspect_ratio_range '
                f'{aspect_ratio_range}'
            )
        self.size = (scale, scale) if isinstance(scale, int) else tuple(scale)
        self.flip_prob = flip_prob
        self.crop_ratio_range = tuple(crop_ratio_range)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.max_attempts = max_attempts
        self.interpolation = interpolation
        self.backend = backend
        # Without the torch resize a reduced decode would change mmcv's
        # result (its cv2 filters do not antialias): full decode then.
        self.dct_scaling = (
            dct_scaling
            and backend == 'pillow'
            and interpolation in _TORCH_MODES
        )
        self.on_error = on_error
        self.backend_args = backend_args

    def _sample(self, height: int, width: int) -> Box:
        return sample_crop_box(
            height,
            width,
            self.crop_ratio_range,
            self.aspect_ratio_range,
            self.max_attempts,
        )

    def decode_and_crop(self, data: bytes) -> Tuple[np.ndarray, Box, tuple]:
        """Draw the box, decode ``data`` and crop-resize it.

        Args:
            data (bytes): The encoded file.

        Returns:
            tuple: The ``[h, w, 3]`` uint8 BGR output, the box
            ``(top, left, h, w)`` and the full image's ``(H, W)``.
        """
        buffer = np.frombuffer(data, np.uint8)
        height, width, orientation, image_format = read_image_header(data)
        if image_format != 'JPEG' or orientation != 1:
            # Decode first, as mmcv does: the box is drawn on the decoded
            # (rotated) image, whatever the header said.
            img = self._decode(buffer, 1)
            height, width = img.shape[:2]
            box, scale = self._sample(height, width), 1
        else:
            box = self._sample(height, width)
            scale = 1
            out_pixels = self.size[0] * self.size[1]
            if (
                self.dct_scaling
                and height * width >= DCT_MIN_PIXELS_RATIO * out_pixels
            ):
                scale = dct_scale_for(box[2], box[3], *self.size)
            img = self._decode(buffer, scale, upright_jpeg=True)
            expected = (-(-height // scale), -(-width // scale))
            if img.shape[:2] != expected:
                raise ValueError(
                    f'decoded {img.shape[:2]} at 1/{scale}, the header '
                    f'says {(height, width)}'
                )
        out = resize_crop(
            img, box, self.size, self.interpolation, self.backend, scale
        )
        return out, box, (height, width)

    @staticmethod
    def _decode(
        buffer: np.ndarray, scale: int, upright_jpeg: bool = False
    ) -> np.ndarray:
        if upright_jpeg and scale == 1 and simplejpeg is not None:
            # The same libjpeg-turbo defaults as OpenCV's decode (slow
            # integer DCT, fancy upsampling: identical pixels, tested)
            # without OpenCV's overhead; OpenCV takes what it refuses, and
            # every file whose EXIF orientation OpenCV applies.
            try:
                return simplejpeg.decode_jpeg(buffer, colorspace='BGR')
            except ValueError:
                pass
        img = cv2.imdecode(buffer, _DECODE_FLAGS[scale])
        if img is None:
            raise ValueError('OpenCV cannot decode the bytes')
        return img

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` and crop it.

        Args:
            results (dict): With ``img_path``.

        Returns:
            dict | None: ``results`` with ``img`` ``[h, w, 3]`` uint8 BGR,
            ``img_shape``, ``ori_shape`` and ``crop_box``; None for a
            skipped file.
        """
        path = results['img_path']
        try:
            data = fileio.get(path, backend_args=self.backend_args)
            img, box, ori_shape = self.decode_and_crop(data)
        except Exception as error:  # unreadable file or undecodable bytes
            reason = f'{type(error).__name__}: {error}'
            if self.on_error == 'skip':
                MMLogger.get_current_instance().warning(
                    f'Skipped unreadable image {path} ({reason}).'
                )
                return None
            raise ValueError(
                f'Cannot read image {path} ({reason}). Remove or replace '
                "the file, or set on_error='skip' to skip unreadable "
                'images with a warning.'
            ) from error
        if self.flip_prob > 0:
            flip = bool(np.random.rand() < self.flip_prob)
            results['flip'] = flip
            results['flip_direction'] = 'horizontal' if flip else None
            if flip:  # a view, as mmcv's imflip; PackInputs copies it
                img = img[:, ::-1]
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = ori_shape
        results['crop_box'] = box
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(scale={self.size}, '
            f'crop_ratio_range={self.crop_ratio_range}, '
            f'aspect_ratio_range={self.aspect_ratio_range}, '
            f'max_attempts={self.max_attempts}, '
            f'interpolation={self.interpolation}, backend={self.backend}, '
            f'dct_scaling={self.dct_scaling}, flip_prob={self.flip_prob})'
        )
