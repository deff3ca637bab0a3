# Copyright (c) mmmim contributors. All rights reserved.
"""Run a masked image model on image files and build reconstruction panels.

Shared by ``tools/visualization/vis_reconstruction.py`` and
:class:`~mmmim.engine.hooks.ReconstructionVisHook`. Images are prepared as
for validation: the short side is resized to the model's input size
(bicubic) and the centre is cropped, then they are normalised with the
model's own data preprocessor statistics.
"""

import math
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from mmmim.models.mask_generators import RandomMaskGenerator

from .reconstruction import (
    NORM_PIX_CAPTION,
    PIXEL_CAPTION,
    Panel,
    make_panels,
)

__all__ = [
    'IMG_EXTENSIONS',
    'list_images',
    'load_image',
    'resize_crop',
    'norm_config',
    'model_img_size',
    'draw_masks',
    'reconstruct_images',
    'reconstruct_tensors',
]

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def list_images(
    paths: Union[str, Sequence[str]],
    extensions: Tuple[str, ...] = IMG_EXTENSIONS,
) -> List[str]:
    """Expand files and folders (searched recursively) to image files.

    Args:
        paths (str | Sequence[str]): Image files and/or folders.
        extensions (Tuple[str, ...]): The file endings searched for in
            folders (lower case). Defaults to :data:`IMG_EXTENSIONS`.

    Returns:
        List[str]: The files; a folder contributes its matches sorted.

    Raises:
        FileNotFoundError: If a path does not exist or no file is found.
    """
    if isinstance(paths, str):
        paths = [paths]
    files = []
    for path in paths:
        if osp.isdir(path):
            found = [
                osp.join(root, name)
                for root, _, names in os.walk(path)
                for name in names
                if name.lower().endswith(extensions)
            ]
            files.extend(sorted(found))
        elif osp.isfile(path):
            files.append(path)
        else:
            raise FileNotFoundError(f'file or folder {path!r} not found')
    if not files:
        raise FileNotFoundError(f'no {extensions} files in {paths}')
    return files


def resize_crop(img: Image.Image, size: int) -> np.ndarray:
    """Resize the short side to ``size`` (bicubic), crop the centre.

    Args:
        img (PIL.Image.Image): An RGB image.
        size (int): Output side.

    Returns:
        np.ndarray: uint8 ``[size, size, 3]``.
    """
    w, h = img.size
    scale = size / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    img = img.resize((new_w, new_h), Image.Resampling.BICUBIC)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return np.array(img.crop((left, top, left + size, top + size)))


def load_image(path: str, size: int) -> torch.Tensor:
    """Load an RGB image, resize its short side and centre-crop it.

    Args:
        path (str): The image file.
        size (int): Output side.

    Returns:
        torch.Tensor: uint8 ``[3, size, size]``, RGB.
    """
    with Image.open(path) as img:
        array = resize_crop(img.convert('RGB'), size)
    return torch.from_numpy(array).permute(2, 0, 1)


def norm_config(model: nn.Module) -> Tuple[List[float], List[float], bool]:
    """The normalisation the model's data preprocessor applies.

    Args:
        model (nn.Module): A model with a ``data_preprocessor``.

    Returns:
        tuple: ``(mean, std, bgr)``: per-channel statistics on the 0-255
        scale (0 and 1 when the preprocessor does not normalise) and
        whether the model sees BGR channels (images are loaded as BGR and
        the preprocessor does not convert them).
    """
    preprocessor = getattr(model, 'data_preprocessor', None)
    bgr = not getattr(preprocessor, '_channel_conversion', False)
    if getattr(preprocessor, '_enable_normalize', False):
        mean = preprocessor.mean.detach().flatten().cpu().tolist()
        std = preprocessor.std.detach().flatten().cpu().tolist()
    else:
        mean, std = [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
    return mean, std, bgr


def model_img_size(model: nn.Module) -> int:
    """The input side a model's backbone was built for.

    Args:
        model (nn.Module): A model whose backbone has ``grid_size`` and
            ``patch_size`` (as ``MAEViT``).

    Returns:
        int: The side in pixels.
    """
    backbone = getattr(model, 'backbone', None)
    grid = getattr(backbone, 'grid_size', None)
    patch_size = getattr(backbone, 'patch_size', None)
    if grid is None or patch_size is None:
        raise ValueError(
            'cannot infer the input size from the backbone; pass img_size'
        )
    grid = (grid, grid) if isinstance(grid, int) else grid
    return int(grid[0]) * int(patch_size)


def draw_masks(
    model: nn.Module,
    batch_size: int,
    grid: Tuple[int, int],
    mask_ratio: Optional[float] = None,
    seed: int = 0,
) -> torch.Tensor:
    """Draw reproducible masks without touching the global RNG.

    Args:
        model (nn.Module): The model; its backbone's ``mask_generator`` is
            used when ``mask_ratio`` is None.
        batch_size (int): Number of masks.
        grid (Tuple[int, int]): The token grid.
        mask_ratio (float, optional): Use random masking at this ratio
            instead (0: nothing masked). Defaults to None.
        seed (int): Seed of a private generator. Defaults to 0.

    Returns:
        torch.Tensor: Bool ``[B, L]`` on the CPU, True = masked.
    """
    if mask_ratio == 0:  # nothing masked (generators refuse ratio 0)
        return torch.zeros(batch_size, math.prod(grid), dtype=torch.bool)
    generator = torch.Generator().manual_seed(seed)
    mask_generator = getattr(model.backbone, 'mask_generator', None)
    if mask_ratio is not None or mask_generator is None:
        mask_generator = RandomMaskGenerator(
            0.75 if mask_ratio is None else mask_ratio
        )
    return mask_generator(batch_size, grid, device='cpu', generator=generator)


@torch.no_grad()
def reconstruct_tensors(
    model: nn.Module,
    inputs: torch.Tensor,
    mask_ratio: Optional[float] = None,
    seed: int = 0,
) -> Tuple[List[Panel], str]:
    """Reconstruct a normalised batch and build its panels.

    The model is run in eval mode (restored afterwards) with
    ``model.reconstruct``; the global RNG is not used.

    Args:
        model (nn.Module): A MIM model with ``reconstruct``, a pixel head
            (``patch_size``, optionally ``norm_pix``) and a data
            preprocessor.
        inputs (torch.Tensor): Images ``[B, C, H, W]`` normalised like the
            model's data preprocessor output, on the model's device.
        mask_ratio (float, optional): Random masking at this ratio
            instead of the model's generator. Defaults to None.
        seed (int): Seed of the masks. Defaults to 0.

    Returns:
        tuple: The panels of every image (see
        :func:`~mmmim.visualization.make_panels`; ``'mask'`` holds its
        bool ``[L]`` mask) and a caption.
    """
    if not hasattr(model, 'reconstruct'):
        raise TypeError(
            f'{type(model).__name__} has no reconstruct(); reconstruction '
            'needs a pre-training model (MAE, SimMIM, ConvMAE, VideoMAE)'
        )
    mean, std, bgr = norm_config(model)
    head = model.head
    patch_size = head.patch_size
    grid = (inputs.shape[-2] // patch_size, inputs.shape[-1] // patch_size)
    mask = draw_masks(model, len(inputs), grid, mask_ratio, seed)
    was_training = model.training
    model.eval()
    try:
        out = model.reconstruct(inputs, mask.to(inputs.device))
    finally:
        model.train(was_training)
    norm_pix = bool(getattr(head, 'norm_pix', False))
    panels = make_panels(
        inputs.cpu(),
        out['pred'].cpu(),
        out['mask'].cpu(),
        patch_size,
        mean,
        std,
        norm_pix=norm_pix,
        norm_pix_eps=getattr(head, 'norm_pix_eps', 1e-6),
        bgr=bgr,
    )
    for panel, sample_mask in zip(panels, out['mask'].cpu().numpy()):
        panel['mask'] = sample_mask
    caption = NORM_PIX_CAPTION if norm_pix else PIXEL_CAPTION
    ratio = float(out['mask'][0].float().mean())
    return panels, f'mask ratio {ratio:.2f}. {caption}'


def reconstruct_images(
    model: nn.Module,
    img_paths: Sequence[str],
    mask_ratio: Optional[float] = None,
    seed: int = 0,
    img_size: Optional[int] = None,
) -> Tuple[List[Panel], str]:
    """Reconstruct image files and build their panels.

    Args:
        model (nn.Module): See :func:`reconstruct_tensors`.
        img_paths (Sequence[str]): Image files.
        mask_ratio (float, optional): Random masking at this ratio
            instead of the model's generator. Defaults to None.
        seed (int): Seed of the masks. Defaults to 0.
        img_size (int, optional): Input side. Defaults to None (the
            backbone's).

    Returns:
        tuple: The panels of every image and a caption.
    """
    size = img_size or model_img_size(model)
    mean, std, bgr = norm_config(model)
    device = next(model.parameters()).device
    images = torch.stack([load_image(path, size) for path in img_paths])
    if bgr:
        images = images.flip(1)
    mean_t = torch.tensor(mean).view(1, -1, 1, 1)
    std_t = torch.tensor(std).view(1, -1, 1, 1)
    inputs = ((images.float() - mean_t) / std_t).to(device)
    return reconstruct_tensors(model, inputs, mask_ratio, seed)
