# Copyright (c) mmmim contributors. All rights reserved.
"""Reconstruction figures of video masked autoencoders (VideoMAE).

A clip becomes a frame strip of three rows: the original frames, the
masked clip the encoder sees (tube-masked cubes grey) and the
reconstruction with the visible cubes pasted back. With per-cube
normalised targets (``norm_target``), each predicted cube is mapped back to
pixels with the mean and std of its own hidden target cube (as the
official ``run_videomae_vis.py`` does), so the masked cubes borrow their
brightness and contrast from the original.
"""

import os.path as osp
from typing import Sequence

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.utils import mkdir_or_exist

from mmmim.models.heads.video_reconstruction_head import cubify

__all__ = ['VIDEO_ROWS', 'uncubify', 'make_video_strips', 'save_video_strip']

#: Row titles, in strip order.
VIDEO_ROWS = ('original', 'masked', 'rec. + visible')


def uncubify(
    cubes: torch.Tensor,
    grid: Sequence[int],
    patch_size: int,
    tubelet_size: int,
    channels: int = 3,
) -> torch.Tensor:
    """Inverse of ``cubify``: ``[B, N, K * C] -> [B, C, T, H, W]``.

    Args:
        cubes (torch.Tensor): Cubes flattened pixel-major, channel-minor.
        grid (Sequence[int]): The token grid ``(t, h, w)``.
        patch_size (int): Spatial cube side ``p``.
        tubelet_size (int): Frames per cube.
        channels (int): Channels ``C``. Defaults to 3.

    Returns:
        torch.Tensor: Videos ``[B, C, t * tubelet, h * p, w * p]``.
    """
    t, h, w = grid
    p, q = patch_size, tubelet_size
    b = cubes.shape[0]
    x = cubes.reshape(b, t, h, w, q, p, p, channels)
    x = x.permute(0, 7, 1, 4, 2, 5, 3, 6)
    return x.reshape(b, channels, t * q, h * p, w * p)


def _to_pixels(
    pred: torch.Tensor, videos01: torch.Tensor, head
) -> torch.Tensor:
    """Predicted cubes ``[B, N, K * C]`` -> ``[0, 1]`` pixels, same shape."""
    if not head.norm_target:
        return pred.float()
    cubes = cubify(videos01, head.patch_size, head.tubelet_size)
    mean = cubes.mean(dim=-2, keepdim=True)
    std = cubes.var(dim=-2, unbiased=True, keepdim=True).sqrt()
    b, n, k, c = cubes.shape
    pred = pred.float().reshape(b, n, k, c)
    return (pred * (std + head.norm_target_eps) + mean).flatten(2)


def make_video_strips(
    model: torch.nn.Module,
    videos: torch.Tensor,
    mask: torch.Tensor = None,
    masked_value: float = 0.5,
) -> np.ndarray:
    """Reconstruct clips and build their strips.

    Args:
        model (nn.Module): A ``VideoMAE`` (backbone, neck and a
            ``VideoReconstructionHead``), in eval mode.
        videos (torch.Tensor): Normalised clips ``[B, C, T, H, W]``.
        mask (torch.Tensor, optional): Bool ``[B, N]``. Defaults to None
            (drawn by the model).
        masked_value (float): Grey level of masked cubes. Defaults to 0.5.

    Returns:
        np.ndarray: ``[B, 3, T, H, W, C]`` float32 in ``[0, 1]``: per
        clip the rows of :data:`VIDEO_ROWS`, frame by frame.
    """
    head = model.head
    with torch.no_grad():
        out = model.reconstruct(videos, mask)
    videos01 = (videos.float() * head.std + head.mean).clamp(0, 1)
    grid = model.backbone.patch_embed(videos[:1])[1]
    recon = uncubify(
        _to_pixels(out['pred'], videos01, head),
        grid,
        head.patch_size,
        head.tubelet_size,
        videos.shape[1],
    ).clamp(0, 1)
    t, h, w = grid
    hidden = out['mask'].reshape(-1, 1, t, 1, h, 1, w, 1)
    hidden = hidden.expand(
        -1, 1, t, head.tubelet_size, h, head.patch_size, w, head.patch_size
    ).reshape(videos.shape[0], 1, *videos.shape[2:])
    masked = torch.where(hidden, torch.tensor(masked_value), videos01)
    pasted = torch.where(hidden, recon, videos01)
    strips = torch.stack([videos01, masked, pasted], dim=1)
    # [B, 3, C, T, H, W] -> [B, 3, T, H, W, C]
    return strips.permute(0, 1, 3, 4, 5, 2).cpu().numpy().astype(np.float32)


def save_video_strip(
    strip: np.ndarray, out_file: str, title: str = '', frame_inches=1.2
) -> str:
    """Save one clip's strip ``[3, T, H, W, C]`` as a PNG grid.

    Args:
        strip (np.ndarray): From :func:`make_video_strips` (one clip).
        out_file (str): The PNG path; its folder is created.
        title (str): Figure title. Defaults to ''.
        frame_inches (float): Width of one frame. Defaults to 1.2.

    Returns:
        str: ``out_file``.
    """
    rows, frames = strip.shape[:2]
    aspect = strip.shape[2] / strip.shape[3]
    fig = Figure(
        figsize=(
            frames * frame_inches + 1.2,
            rows * frame_inches * aspect + 0.5,
        )
    )
    FigureCanvasAgg(fig)
    for r in range(rows):
        for f in range(frames):
            ax = fig.add_subplot(rows, frames, r * frames + f + 1)
            ax.imshow(strip[r, f])
            ax.set_xticks([])
            ax.set_yticks([])
            if f == 0:
                ax.set_ylabel(VIDEO_ROWS[r], fontsize=8)
            if r == 0:
                ax.set_title(f'frame {f}', fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    mkdir_or_exist(osp.dirname(osp.abspath(out_file)))
    fig.savefig(out_file, dpi=100)
    return out_file
