# Copyright (c) mmmim contributors. All rights reserved.
"""Turn user inputs into normalised model batches.

Accepted inputs (one or a list of them):

* image files, and folders (searched recursively for images; for a
  VideoMAE model, for videos);
* video files (``.mp4``, ``.avi``, ...) for VideoMAE models;
* ``np.ndarray`` uint8 RGB pixels: an image ``[H, W, 3]``, images
  ``[N, H, W, 3]`` or, for VideoMAE, a clip ``[T, H, W, 3]``;
* ``torch.Tensor`` batches that are already normalised like the model's
  data preprocessor output (``[B, C, H, W]`` or ``[B, C, T, H, W]``),
  passed through unchanged.

Images are prepared as for validation: the short side is resized to the
model's input size (bicubic) and the centre is cropped. Clips take
``num_frames`` frames every ``frame_interval`` frames.
"""

import warnings
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from mmmim.visualization.reconstruct_images import (
    IMG_EXTENSIONS,
    list_images,
    norm_config,
    resize_crop,
)

from .features import get_backbone, input_geometry

__all__ = [
    'VIDEO_EXTENSIONS',
    'Batch',
    'iter_batches',
    'model_input_size',
    'read_clip',
]

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.mov', '.webm')
#: ``(names, pixels, inputs)``: a name per sample, the uint8 RGB pixels
#: ``[B, 3, H, W]`` / ``[B, 3, T, H, W]`` (None for tensor inputs) and the
#: normalised batch.
Batch = Tuple[List[str], Optional[torch.Tensor], torch.Tensor]
Inputs = Union[str, np.ndarray, torch.Tensor, Sequence]


def model_input_size(model: nn.Module) -> Tuple[int, int]:
    """``(frames, side)`` a model was built for (frames 0 for images)."""
    backbone = get_backbone(model)
    is_video, _ = input_geometry(backbone)
    grid = tuple(backbone.grid_size)
    if is_video:
        embed = backbone.patch_embed
        return grid[0] * embed.tubelet_size, grid[-1] * embed.patch_size
    patch = getattr(backbone, 'patch_size', None)
    if patch is None:  # Swin: the stride of its patch embedding
        patch = backbone.patch_embed.projection.stride[0]
    return 0, grid[-1] * int(patch)


def read_image(path: str, size: int) -> np.ndarray:
    """An image file as uint8 RGB ``[size, size, 3]``.

    Raises:
        ValueError: If the file cannot be decoded (named in the message).
    """
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ('I', 'I;16', 'I;16B', 'I;16L', 'F'):
                # 16-bit and float images: scale to 8 bits, don't clip.
                array = np.asarray(img, dtype=np.float64)
                top = array.max() or 1.0
                img = Image.fromarray((array / top * 255).astype(np.uint8))
            return resize_crop(img.convert('RGB'), size)
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f'cannot read image {path}: {error}') from error


def read_clip(
    path: str,
    num_frames: int,
    size: int,
    frame_interval: int = 2,
    start: int = 0,
) -> np.ndarray:
    """Decode ``num_frames`` frames every ``frame_interval`` from ``start``.

    Returns:
        np.ndarray: ``[T, size, size, 3]`` uint8 RGB.

    Raises:
        ValueError: If the video is shorter than the clip, or unreadable.
    """
    import av

    wanted = range(start, start + num_frames * frame_interval, frame_interval)
    wanted_set, frames = set(wanted), []
    try:
        with av.open(path) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index in wanted_set:
                    frames.append(resize_crop(frame.to_image(), size))
                if len(frames) == num_frames:
                    break
    except (OSError, av.error.FFmpegError) as error:
        raise ValueError(f'cannot read video {path}: {error}') from error
    if len(frames) < num_frames:
        raise ValueError(
            f'{path} has too few frames for {num_frames} frames every '
            f'{frame_interval} from frame {start}; lower frame_interval or '
            'start'
        )
    return np.stack(frames)


def _normalise(model: nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """uint8 RGB ``[B, 3, ...]`` -> the model's normalised inputs."""
    preprocessor = model.data_preprocessor
    if pixels.dim() == 5:  # clips are decoded and trained on as RGB
        mean = preprocessor.mean.detach().cpu().flatten()
        std = preprocessor.std.detach().cpu().flatten()
        bgr = False
    else:
        mean, std, bgr = norm_config(model)
        mean, std = torch.tensor(mean), torch.tensor(std)
    shape = (1, -1) + (1,) * (pixels.dim() - 2)
    x = pixels.flip(1) if bgr else pixels
    return (x.float() - mean.view(shape)) / std.view(shape)


def _split_inputs(inputs: Inputs) -> list:
    if isinstance(inputs, (str, np.ndarray, torch.Tensor)):
        return [inputs]
    return list(inputs)


def iter_batches(
    model: nn.Module,
    inputs: Inputs,
    batch_size: int = 16,
    on_error: str = 'raise',
    frame_interval: int = 2,
    progress: bool = False,
) -> Iterator[Batch]:
    """Yield normalised batches of any accepted inputs (module docstring).

    Args:
        model (nn.Module): The model (its backbone decides images or
            clips and the input size; its data preprocessor the
            normalisation).
        inputs: See the module docstring.
        batch_size (int): Files per batch. Defaults to 16.
        on_error (str): ``'raise'`` or ``'skip'`` (with a warning) for a
            file that cannot be decoded. Defaults to 'raise'.
        frame_interval (int): Clip sampling interval. Defaults to 2.
        progress (bool): Show a progress bar over files. Defaults to False.

    Yields:
        Batch: ``(names, pixels, inputs)``.
    """
    if on_error not in ('raise', 'skip'):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error}")
    frames, size = model_input_size(model)
    is_video = frames > 0
    kind = 'video' if is_video else 'image'
    device = next(model.parameters()).device
    paths, arrays = [], []
    for index, item in enumerate(_split_inputs(inputs)):
        if isinstance(item, torch.Tensor):
            yield [f'tensor{index}_{i}' for i in range(len(item))], None, item
        elif isinstance(item, np.ndarray):
            arrays.append((f'array{index}', item))
        elif isinstance(item, str):
            paths.append(item)
        else:
            raise TypeError(
                f'inputs take paths, np.ndarray or torch.Tensor, got '
                f'{type(item).__name__}'
            )
    for name, array in arrays:
        pixels = _array_pixels(array, is_video, size)
        names = (
            [name]
            if pixels.shape[0] == 1
            else [f'{name}_{i}' for i in range(pixels.shape[0])]
        )
        yield names, pixels, _normalise(model, pixels).to(device)
    files = (
        list_images(paths, VIDEO_EXTENSIONS if is_video else IMG_EXTENSIONS)
        if paths
        else []
    )
    for path in files:
        is_video_file = path.lower().endswith(VIDEO_EXTENSIONS)
        if is_video_file != is_video:
            found, fix = (
                ('a video', 'a VideoMAE model')
                if is_video_file
                else ('an image', 'an image model, or pass videos')
            )
            raise ValueError(
                f'{path} is {found}, but the model takes {kind}s; use {fix}'
            )
    bar = None
    if progress and files:
        from mmengine.utils import ProgressBar

        bar = ProgressBar(len(files))
    for start in range(0, len(files), batch_size):
        names, pixels = [], []
        for path in files[start : start + batch_size]:
            try:
                if is_video:
                    array = read_clip(path, frames, size, frame_interval)
                    pixels.append(torch.from_numpy(array).permute(3, 0, 1, 2))
                else:
                    array = read_image(path, size)
                    pixels.append(torch.from_numpy(array).permute(2, 0, 1))
                names.append(path)
            except ValueError as error:
                if on_error == 'raise':
                    raise ValueError(
                        f"{error} (pass on_error='skip' to skip such files)"
                    ) from error
                warnings.warn(f'skipped: {error}', stacklevel=2)
            if bar is not None:
                bar.update()
        if pixels:
            batch = torch.stack(pixels)
            yield names, batch, _normalise(model, batch).to(device)
    if bar is not None:
        print(flush=True)  # the bar leaves the cursor on its line


def _array_pixels(array: np.ndarray, is_video: bool, size: int):
    """uint8 RGB arrays -> ``[N, 3, size, size]`` or ``[1, 3, T, ...]``."""
    if array.dtype != np.uint8:
        raise ValueError(
            f'arrays must be uint8 RGB pixels, got {array.dtype}; pass '
            'normalised data as a torch.Tensor instead'
        )
    if array.ndim < 3 or array.shape[-1] != 3:
        raise ValueError(
            f'arrays must be [H, W, 3] or [N, H, W, 3] RGB, got shape '
            f'{array.shape}'
        )
    if is_video and array.ndim != 4:
        raise ValueError(
            f'a VideoMAE model takes clips [T, H, W, 3], got {array.shape}'
        )
    frames = array[None] if array.ndim == 3 else array
    crops = np.stack([resize_crop(Image.fromarray(f), size) for f in frames])
    pixels = torch.from_numpy(crops).permute(0, 3, 1, 2)  # [N, 3, S, S]
    if is_video:  # one clip [1, 3, T, S, S]
        return pixels.permute(1, 0, 2, 3)[None]
    return pixels
