# Copyright (c) mmmim contributors. All rights reserved.
"""Reconstruct images or clips of any input kind; optionally save panels.

Images give four panels (original, masked, reconstruction, reconstruction
with the visible patches pasted back), clips three frame rows (original,
masked, reconstruction with the visible cubes pasted back), as the figure
tools in ``tools/visualization`` draw them.
"""

import copy
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn

from mmmim.visualization import (
    PANEL_TITLES,
    make_video_strips,
    reconstruct_tensors,
    save_panels,
    save_video_strip,
)

from .features import get_backbone, input_geometry
from .inputs import Inputs, iter_batches

__all__ = ['IMAGE_KEYS', 'VIDEO_KEYS', 'reconstruct']

#: Result keys of an image, in panel order (:data:`PANEL_TITLES`).
IMAGE_KEYS = ('original', 'masked', 'reconstruction', 'pasted')
#: Result keys of a clip (frames ``[T, H, W, 3]``), in strip row order.
VIDEO_KEYS = ('original', 'masked', 'pasted')


def _video_mask(
    model: nn.Module,
    batch_size: int,
    grid: tuple,
    mask_ratio: Optional[float],
    seed: int,
) -> torch.Tensor:
    """Tube masks from the model's own generator (at ``mask_ratio`` if
    given), drawn from a private generator."""
    mask_generator = copy.copy(get_backbone(model).mask_generator)
    if mask_generator is None:
        raise ValueError('this VideoMAE backbone has no mask_generator')
    if mask_ratio is not None:
        mask_generator.mask_ratio = float(mask_ratio)
    generator = torch.Generator().manual_seed(seed)
    return mask_generator(batch_size, grid, device='cpu', generator=generator)


def _stem(name: str) -> str:
    return osp.splitext(osp.basename(name))[0]


def reconstruct(
    model: nn.Module,
    inputs: Inputs,
    mask_ratio: Optional[float] = None,
    seed: int = 0,
    save_dir: Optional[str] = None,
    batch_size: int = 16,
    on_error: str = 'raise',
    frame_interval: int = 2,
) -> List[Dict[str, object]]:
    """Mask and reconstruct inputs with a pre-training model.

    Masks are drawn from a private generator seeded with ``seed`` (batch
    ``i`` uses ``seed + i``), so calls repeat exactly and the global RNG
    is untouched.

    Args:
        model (nn.Module): An MAE, SimMIM, ConvMAE or VideoMAE model.
        inputs: Image/video files, folders, uint8 RGB arrays or normalised
            tensors (see :mod:`mmmim.apis.inputs`).
        mask_ratio (float, optional): For images, random masking at this
            ratio (0 works: nothing is masked); for clips, the model's tube
            masking at this ratio. Defaults to None (the model's own
            generator).
        seed (int): Mask seed. Defaults to 0.
        save_dir (str, optional): Also write ``{stem}.png`` per sample and,
            for images, ``reconstructions.png`` with all of them.
            Defaults to None.
        batch_size (int): Defaults to 16.
        on_error (str): ``'raise'`` or ``'skip'`` unreadable files.
            Defaults to 'raise'.
        frame_interval (int): Clip sampling interval. Defaults to 2.

    Returns:
        list[dict]: Per sample ``name``, ``mask`` (bool ``[L]``) and the
        float32 ``[0, 1]`` RGB arrays of :data:`IMAGE_KEYS` (``[H, W, 3]``)
        or, for clips, :data:`VIDEO_KEYS` (``[T, H, W, 3]``).
    """
    is_video, _ = input_geometry(get_backbone(model))
    results, panels, caption = [], [], ''
    batches = iter_batches(model, inputs, batch_size, on_error, frame_interval)
    for index, (names, _, batch) in enumerate(batches):
        if is_video:
            clips = _reconstruct_clips(
                model, names, batch, mask_ratio, seed + index
            )
            results.extend(clips)
            continue
        batch_panels, caption = reconstruct_tensors(
            model, batch, mask_ratio, seed + index
        )
        panels.extend(batch_panels)
        for name, panel in zip(names, batch_panels):
            result = dict(zip(IMAGE_KEYS, (panel[t] for t in PANEL_TITLES)))
            results.append(dict(name=name, mask=panel.get('mask'), **result))
    if save_dir is not None:
        _save(results, panels, caption, save_dir, is_video)
    return results


@torch.no_grad()
def _reconstruct_clips(model, names, batch, mask_ratio, seed) -> List[dict]:
    grid = get_backbone(model).patch_embed(batch[:1])[1]
    mask = _video_mask(model, len(batch), grid, mask_ratio, seed)
    was_training = model.training
    model.eval()
    try:
        strips = make_video_strips(model, batch, mask.to(batch.device))
    finally:
        model.train(was_training)
    return [
        dict(name=name, mask=m.numpy(), **dict(zip(VIDEO_KEYS, strip)))
        for name, m, strip in zip(names, mask, strips)
    ]


def _save(
    results: List[dict],
    panels: list,
    caption: str,
    save_dir: str,
    is_video: bool,
) -> None:
    stems, seen = [], {}
    for result in results:
        stem = _stem(result['name'])
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f'{stem}_{seen[stem] - 1}')
    for stem, result, i in zip(stems, results, range(len(results))):
        out_file = osp.join(save_dir, f'{stem}.png')
        if is_video:
            strip = np.stack([result[k] for k in VIDEO_KEYS])
            save_video_strip(strip, out_file, title=stem)
        else:
            save_panels([panels[i]], out_file, [stem], caption)
    if not is_video and results:
        grid_file = osp.join(save_dir, 'reconstructions.png')
        save_panels(panels, grid_file, stems, caption)
