# Copyright (c) mmmim contributors. All rights reserved.
from .reconstruct_images import (
    draw_masks,
    list_images,
    load_image,
    model_img_size,
    norm_config,
    reconstruct_images,
    reconstruct_tensors,
)
from .reconstruction import (
    NORM_PIX_CAPTION,
    PANEL_TITLES,
    PIXEL_CAPTION,
    denormalize,
    make_panels,
    mask_to_pixels,
    pred_to_images,
    save_panels,
    unnormalize_norm_pix,
)
from .video_reconstruction import (
    VIDEO_ROWS,
    make_video_strips,
    save_video_strip,
    uncubify,
)

__all__ = [
    'NORM_PIX_CAPTION',
    'PANEL_TITLES',
    'PIXEL_CAPTION',
    'denormalize',
    'draw_masks',
    'list_images',
    'load_image',
    'make_panels',
    'mask_to_pixels',
    'model_img_size',
    'norm_config',
    'pred_to_images',
    'reconstruct_images',
    'reconstruct_tensors',
    'save_panels',
    'unnormalize_norm_pix',
    'VIDEO_ROWS',
    'make_video_strips',
    'save_video_strip',
    'uncubify',
]
