# Copyright (c) mmmim contributors. All rights reserved.
"""Hand the encoded JPEG and its crop to the data preprocessor, which
decodes on the model's device (``JpegDecodeDataPreprocessor``)."""

import warnings
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmengine.logging import MMLogger

from mmmim.registry import TRANSFORMS

from .crop_sampling import read_image_header, sample_crop_box

__all__ = ['LoadJpegForDeviceDecode', 'decode_and_crop']


@TRANSFORMS.register_module()
class LoadJpegForDeviceDecode(BaseTransform):
    """Read the file, draw the random-resized crop and the flip; decode
    nothing.

    The worker's share of the input pipeline shrinks to reading the bytes
    and the header (tens of microseconds); ``JpegDecodeDataPreprocessor``
    decodes the batch on the model's device (nvJPEG on a GPU), crops,
    resizes (antialiased, Pillow's filters) and flips. The crop is drawn
    with mmpretrain's ``RandomResizedCrop`` draws
    (:func:`~.crop_sampling.sample_crop_box`) on the EXIF-oriented size,
    then the flip with probability ``flip_prob``.

    ``results['img']`` becomes the file as a 1-D uint8 tensor (samples
    differ in length: batch them with ``pseudo_collate``) and
    ``results['device_decode']`` the recipe, a dict with ``box``
    ``(top, left, h, w)``, ``flip``, ``orientation`` (EXIF code),
    ``format``, ``size`` ``(h, w)`` and ``interpolation``; pack it with
    ``PackInputs(meta_keys=(..., 'device_decode'))``.

    **Required Keys:** img_path

    **Added Keys:** img, img_shape, ori_shape, device_decode

    Args:
        scale (int | Sequence[int]): Output size (int: square, else
            ``(h, w)``).
        crop_ratio_range (tuple[float, float]): Area fraction range.
            Defaults to (0.08, 1.0).
        aspect_ratio_range (tuple[float, float]): Width / height range.
            Defaults to (3/4, 4/3).
        max_attempts (int): Draws before the centred fallback.
            Defaults to 10.
        interpolation (str): ``'bilinear'`` or ``'bicubic'``.
            Defaults to 'bilinear'.
        flip_prob (float): Horizontal flip probability (``RandomFlip``
            cannot flip bytes, so the flip is drawn here). Defaults to 0.5.
        on_error (str): ``'raise'`` or ``'skip'`` an unreadable file.
            Defaults to 'raise'.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.
    """

    def __init__(
        self,
        scale: Union[int, Sequence[int]],
        crop_ratio_range: Tuple[float, float] = (0.08, 1.0),
        aspect_ratio_range: Tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
        max_attempts: int = 10,
        interpolation: str = 'bilinear',
        flip_prob: float = 0.5,
        on_error: str = 'raise',
        backend_args: Optional[dict] = None,
    ) -> None:
        if interpolation not in ('bilinear', 'bicubic'):
            raise ValueError(
                "interpolation must be 'bilinear' or 'bicubic' (the "
                f'antialiased device resize), got {interpolation!r}'
            )
        if on_error not in ('raise', 'skip'):
            raise ValueError(
                f"on_error must be 'raise' or 'skip', got {on_error!r}."
            )
        self.size = (scale, scale) if isinstance(scale, int) else tuple(scale)
        self.crop_ratio_range = tuple(crop_ratio_range)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.max_attempts = max_attempts
        self.interpolation = interpolation
        self.flip_prob = flip_prob
        self.on_error = on_error
        self.backend_args = backend_args

    def transform(self, results: dict) -> Optional[dict]:
        """Read ``results['img_path']`` and draw its crop and flip.

        Args:
            results (dict): With ``img_path``.

        Returns:
            dict | None: ``results`` with the bytes and the recipe; None
            for a skipped file.
        """
        path = results['img_path']
        try:
            data = fileio.get(path, backend_args=self.backend_args)
            height, width, orientation, image_format = read_image_header(data)
        except Exception as error:  # unreadable file or header
            reason = f'{type(error).__name__}: {error}'
            if self.on_error == 'skip':
                MMLogger.get_current_instance().warning(
                    f'Skipped unreadable image {path} ({reason}).'
                )
                return None
            raise ValueError(
                f'Cannot read image {path} ({reason}). Remove or replace '
                "the file, or set on_error='skip'."
            ) from error
        box = sample_crop_box(
            height,
            width,
            self.crop_ratio_range,
            self.aspect_ratio_range,
            self.max_attempts,
        )
        flip = bool(np.random.rand() < self.flip_prob)
        # bytearray: a writable buffer, so torch shares it without a copy
        # or a warning.
        results['img'] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
        results['img_shape'] = self.size
        results['ori_shape'] = (height, width)
        results['device_decode'] = dict(
            box=box,
            flip=flip,
            orientation=orientation,
            format=image_format,
            size=self.size,
            interpolation=self.interpolation,
        )
        return results


def _orient(img: torch.Tensor, orientation: int) -> torch.Tensor:
    """Apply an EXIF orientation to a ``[C, H, W]`` image, as OpenCV's
    ``IMREAD_COLOR`` does (the CUDA decoder ignores it)."""
    if orientation in (5, 6, 7, 8):
        img = img.transpose(1, 2)
    flips = {2: (2,), 3: (1, 2), 4: (1,), 6: (2,), 7: (1, 2), 8: (1,)}
    dims = flips.get(orientation)
    return img.flip(dims) if dims else img


def decode_and_crop(
    encoded: List[torch.Tensor],
    recipes: List[dict],
    device: Union[str, torch.device] = 'cpu',
) -> torch.Tensor:
    """Decode files on ``device`` and apply their
    :class:`LoadJpegForDeviceDecode` recipes.

    JPEGs are decoded by ``torchvision.io.decode_jpeg`` (the whole batch in
    one call on CUDA: nvJPEG); other formats on the CPU. Each image is
    oriented, cropped, resized with torch's antialiased filter in float
    (Pillow's filters), rounded to whole grey levels as a uint8 pipeline
    would, and flipped.

    Args:
        encoded (list[Tensor]): 1-D uint8 CPU tensors, the files.
        recipes (list[dict]): Their ``device_decode`` recipes.
        device (str | torch.device): Where to decode. Defaults to 'cpu'.

    Returns:
        Tensor: ``[B, 3, h, w]`` float32 RGB on ``device``, values in
        0..255.
    """
    from torchvision.io import ImageReadMode, decode_image, decode_jpeg

    device = torch.device(device)
    jpegs = [i for i, r in enumerate(recipes) if r['format'] == 'JPEG']
    images: List[Optional[torch.Tensor]] = [None] * len(encoded)
    with warnings.catch_warnings():
        # torchvision >= 0.29 flags its image decoders as deprecated.
        warnings.simplefilter('ignore', DeprecationWarning)
        if jpegs and device.type == 'cuda':
            decoded = decode_jpeg(
                [encoded[i] for i in jpegs], ImageReadMode.RGB, device
            )
            for i, img in zip(jpegs, decoded):
                images[i] = img
        for i, data in enumerate(encoded):
            if images[i] is None:
                images[i] = decode_image(data, ImageReadMode.RGB).to(device)
    out = []
    for img, recipe in zip(images, recipes):
        img = _orient(img, recipe['orientation'])
        top, left, crop_h, crop_w = recipe['box']
        crop = img[None, :, top : top + crop_h, left : left + crop_w]
        resized = F.interpolate(
            crop.float(),
            size=tuple(recipe['size']),
            mode=recipe['interpolation'],
            antialias=True,
        )
        if recipe['flip']:
            resized = resized.flip(3)
        out.append(resized)
    return torch.cat(out).round_().clamp_(0, 255)
