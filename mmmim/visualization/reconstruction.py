# Copyright (c) mmmim contributors. All rights reserved.
"""Reconstruction figures of masked image models.

Each image becomes a row of four panels: the original, the masked input
the encoder sees, the model's reconstruction of every patch and the
reconstruction with the visible patches pasted back (what MAE papers
show). Panels are float arrays ``[H, W, 3]`` in ``[0, 1]`` (RGB); the
figure is drawn with matplotlib's Agg canvas, without pyplot's global
state.
"""

import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.utils import mkdir_or_exist

from mmmim.models.utils import patchify, unpatchify

__all__ = [
    'PANEL_TITLES',
    'NORM_PIX_CAPTION',
    'PIXEL_CAPTION',
    'denormalize',
    'unnormalize_norm_pix',
    'pred_to_images',
    'mask_to_pixels',
    'make_panels',
    'save_panels',
]

#: Column titles, in panel order.
PANEL_TITLES = ('original', 'masked', 'reconstruction', 'rec. + visible')

NORM_PIX_CAPTION = (
    'norm-pix target: each predicted patch is un-normalised with the mean '
    'and variance of its own target patch (as mmselfsup did), so masked '
    'patches borrow brightness and contrast from the hidden original.'
)
PIXEL_CAPTION = 'pixel target: predictions are shown as predicted.'

Panel = Dict[str, np.ndarray]


def denormalize(
    imgs: torch.Tensor,
    mean: Sequence[float],
    std: Sequence[float],
    bgr: bool = False,
) -> np.ndarray:
    """Undo the data preprocessor's normalisation for display.

    Args:
        imgs (torch.Tensor): Normalised images ``[B, C, H, W]`` in the
            model's channel order.
        mean (Sequence[float]): Per-channel mean on the 0-255 scale.
        std (Sequence[float]): Per-channel std on the 0-255 scale.
        bgr (bool): The model's channels are BGR; flip them to RGB.
            Defaults to False.

    Returns:
        np.ndarray: ``[B, H, W, C]`` float32 in ``[0, 1]``, RGB.
    """
    imgs = imgs.detach().float().cpu()
    mean_t = torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    pixels = ((imgs * std_t + mean_t) / 255.0).clamp(0, 1)
    if bgr and pixels.shape[1] == 3:
        pixels = pixels.flip(1)
    return pixels.permute(0, 2, 3, 1).numpy().astype(np.float32)


def unnormalize_norm_pix(
    pred: torch.Tensor,
    imgs: torch.Tensor,
    patch_size: int,
    eps: float = 1e-6,
) -> torch.Tensor:
    """Map norm-pix predictions back to the input's space.

    The inverse of the norm-pix target ``(t - mean) / sqrt(var + eps)``,
    using the statistics of each *target* patch (unbiased variance, as the
    target): ``pred * sqrt(var + eps) + mean``. mmselfsup's visualiser did
    the same; the hidden patches' statistics are information the model
    never had, so the figure flatters the masked patches.

    Args:
        pred (torch.Tensor): Predictions ``[B, L, p * p * C]``.
        imgs (torch.Tensor): The normalised input images ``[B, C, H, W]``.
        patch_size (int): Patch side ``p``.
        eps (float): The target's variance epsilon. Defaults to 1e-6.

    Returns:
        torch.Tensor: ``[B, L, p * p * C]`` in the input's space.
    """
    target = patchify(imgs.float(), patch_size)
    mean = target.mean(dim=-1, keepdim=True)
    var = target.var(dim=-1, keepdim=True, unbiased=True)
    return pred.float() * (var + eps) ** 0.5 + mean


def pred_to_images(
    pred: torch.Tensor,
    imgs: torch.Tensor,
    patch_size: int,
    norm_pix: bool = False,
    norm_pix_eps: float = 1e-6,
) -> torch.Tensor:
    """Turn patch-space predictions into images.

    Args:
        pred (torch.Tensor): Predictions ``[B, L, p * p * C]``.
        imgs (torch.Tensor): The normalised inputs ``[B, C, H, W]``.
        patch_size (int): Patch side ``p``.
        norm_pix (bool): Predictions are per-patch normalised.
            Defaults to False.
        norm_pix_eps (float): The target's variance epsilon.
            Defaults to 1e-6.

    Returns:
        torch.Tensor: Images ``[B, C, H, W]`` in the input's space.

    Raises:
        ValueError: If ``pred`` is not in the pixel patch space of
            ``imgs`` (e.g. token logits).
    """
    b, c, h, w = imgs.shape
    expected = (b, (h // patch_size) * (w // patch_size), patch_size**2 * c)
    if tuple(pred.shape) != expected:
        raise ValueError(
            f'pred {tuple(pred.shape)} is not in the pixel patch space '
            f'{expected} of the inputs; reconstruction figures need a '
            'pixel target (e.g. PixelReconstructionHead), not tokens'
        )
    if norm_pix:
        pred = unnormalize_norm_pix(pred, imgs, patch_size, norm_pix_eps)
    grid = (h // patch_size, w // patch_size)
    return unpatchify(pred.float(), patch_size, grid)


def mask_to_pixels(
    mask: torch.Tensor, grid: Tuple[int, int], patch_size: int
) -> np.ndarray:
    """Expand a token mask to a pixel mask.

    Args:
        mask (torch.Tensor): Bool ``[B, L]``, True = masked.
        grid (Tuple[int, int]): The token grid ``(h, w)``.
        patch_size (int): Patch side ``p``.

    Returns:
        np.ndarray: Bool ``[B, h * p, w * p]``.
    """
    mask = mask.detach().bool().cpu().reshape(-1, *grid)
    pixels = mask.repeat_interleave(patch_size, 1)
    return pixels.repeat_interleave(patch_size, 2).numpy()


def make_panels(
    imgs: torch.Tensor,
    pred: torch.Tensor,
    mask: torch.Tensor,
    patch_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    norm_pix: bool = False,
    norm_pix_eps: float = 1e-6,
    bgr: bool = False,
    masked_value: float = 0.5,
) -> List[Panel]:
    """Build the four panels of every image.

    The paste-back happens on the display arrays, so the visible patches
    of ``'rec. + visible'`` equal those of ``'original'`` exactly.

    Args:
        imgs (torch.Tensor): Normalised inputs ``[B, C, H, W]``.
        pred (torch.Tensor): Predictions ``[B, L, p * p * C]`` in the
            target's space.
        mask (torch.Tensor): Bool ``[B, L]``, True = masked.
        patch_size (int): Patch side ``p``.
        mean (Sequence[float]): The preprocessor's mean (0-255 scale).
        std (Sequence[float]): The preprocessor's std (0-255 scale).
        norm_pix (bool): ``pred`` is per-patch normalised.
            Defaults to False.
        norm_pix_eps (float): The target's variance epsilon.
            Defaults to 1e-6.
        bgr (bool): The model's channels are BGR. Defaults to False.
        masked_value (float): Grey level of masked patches in the
            ``'masked'`` panel. Defaults to 0.5.

    Returns:
        List[Dict[str, np.ndarray]]: Per image, the panels keyed by
        :data:`PANEL_TITLES`, each ``[H, W, C]`` float32 in ``[0, 1]``.
    """
    recon = pred_to_images(pred, imgs, patch_size, norm_pix, norm_pix_eps)
    original = denormalize(imgs, mean, std, bgr)
    reconstruction = denormalize(recon, mean, std, bgr)
    grid = (imgs.shape[-2] // patch_size, imgs.shape[-1] // patch_size)
    hidden = mask_to_pixels(mask, grid, patch_size)[..., None]
    masked = np.where(hidden, np.float32(masked_value), original)
    pasted = np.where(hidden, reconstruction, original)
    names = PANEL_TITLES
    return [
        dict(zip(names, arrays))
        for arrays in zip(original, masked, reconstruction, pasted)
    ]


def save_panels(
    panels: List[Panel],
    out_file: str,
    row_labels: Optional[Sequence[str]] = None,
    caption: Optional[str] = None,
    panel_inches: float = 2.0,
    dpi: int = 100,
) -> str:
    """Save panels as a PNG grid: one row per image, one column per panel.

    Args:
        panels (List[Dict[str, np.ndarray]]): From :func:`make_panels`.
        out_file (str): The PNG path; its folder is created.
        row_labels (Sequence[str], optional): A label per row (e.g. the
            file name). Defaults to None.
        caption (str, optional): Text under the grid. Defaults to None.
        panel_inches (float): Size of one panel. Defaults to 2.
        dpi (int): Resolution. Defaults to 100.

    Returns:
        str: ``out_file``.
    """
    if not panels:
        raise ValueError('no panels to save')
    rows, cols = len(panels), len(PANEL_TITLES)
    # Fixed margins in inches: titles on top, labels left, caption below.
    top, right, gap = 0.3, 0.1, 0.1
    left = 0.3 if row_labels is not None else 0.1
    bottom = 0.4 if caption else 0.1
    width = left + cols * panel_inches + (cols - 1) * gap + right
    height = top + rows * panel_inches + (rows - 1) * gap + bottom
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        top=1 - top / height,
        bottom=bottom / height,
        wspace=gap / panel_inches,
        hspace=gap / panel_inches,
    )
    for r, panel in enumerate(panels):
        for c, name in enumerate(PANEL_TITLES):
            ax = axes[r][c]
            image = panel[name]
            if image.shape[-1] == 1:
                ax.imshow(image[..., 0], cmap='gray', vmin=0, vmax=1)
            else:
                ax.imshow(image, interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize=10)
        if row_labels is not None:
            axes[r][0].set_ylabel(row_labels[r], fontsize=8)
    if caption:
        fig.text(
            0.5,
            bottom / 2 / height,
            caption,
            ha='center',
            va='center',
            fontsize=7,
            wrap=True,
        )
    mkdir_or_exist(osp.dirname(out_file) or '.')
    fig.savefig(out_file, format='png')
    return out_file
