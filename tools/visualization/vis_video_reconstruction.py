# Copyright (c) mmmim contributors. All rights reserved.
"""Save reconstruction frame strips of a trained VideoMAE model.

Example::

    python tools/visualization/vis_video_reconstruction.py \\
        configs/videomae/videomae_vit-tiny-p8_1xb8-coslr-demo.py \\
        work_dirs/videomae_demo/iter_600.pth \\
        --video data/demo_video/videos/bikes_6.mp4 \\
        --out-dir work_dirs/videomae_demo/vis

Each video gets ``{out_dir}/{stem}.png``: the sampled frames (original),
the tube-masked clip the encoder sees and the reconstruction with the
visible cubes pasted back. The clip starts at frame ``--start`` and takes
every ``--frame-interval``-th frame; frames are resized (short side) and
centre-cropped to the model's input size.
"""

import argparse
import os.path as osp
from typing import List

import av
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from PIL import Image


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Save reconstruction frame strips of a VideoMAE model'
    )
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--video', nargs='+', required=True, help='videos')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--frame-interval', type=int, default=2)
    parser.add_argument('--start', type=int, default=0, help='first frame')
    parser.add_argument('--seed', type=int, default=0, help='mask seed')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.backbone.arch=b',
    )
    return parser.parse_args()


def read_clip(
    path: str, num_frames: int, interval: int, start: int, size: int
) -> np.ndarray:
    """Decode ``num_frames`` frames, resized and centre-cropped.

    Returns:
        np.ndarray: ``[T, size, size, 3]`` uint8 RGB.

    Raises:
        ValueError: If the video is shorter than the clip.
    """
    wanted = set(range(start, start + num_frames * interval, interval))
    frames: List[np.ndarray] = []
    with av.open(path) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                image = frame.to_image()
                scale = size / min(image.size)
                image = image.resize(
                    (round(image.width * scale), round(image.height * scale)),
                    Image.BICUBIC,
                )
                left = (image.width - size) // 2
                top = (image.height - size) // 2
                image = image.crop((left, top, left + size, top + size))
                frames.append(np.asarray(image))
            if len(frames) == num_frames:
                break
    if len(frames) < num_frames:
        raise ValueError(
            f'{path} has too few frames for {num_frames} frames every '
            f'{interval} from frame {start}; lower --frame-interval or '
            '--start'
        )
    return np.stack(frames)


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmmim'))
    from mmmim.registry import MODELS
    from mmmim.visualization import make_video_strips, save_video_strip

    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model = model.to(args.device).eval()
    backbone = model.backbone
    t, h, _ = backbone.grid_size
    num_frames = t * backbone.patch_embed.tubelet_size
    size = h * backbone.patch_embed.patch_size
    preprocessor = model.data_preprocessor
    for path in args.video:
        clip = read_clip(
            path, num_frames, args.frame_interval, args.start, size
        )
        # [T, H, W, C] -> [1, C, T, H, W], normalised like training data.
        video = torch.from_numpy(clip).permute(3, 0, 1, 2)[None].float()
        video = (video - preprocessor.mean.cpu()) / preprocessor.std.cpu()
        torch.manual_seed(args.seed)
        strips = make_video_strips(model, video.to(args.device))
        stem = osp.splitext(osp.basename(path))[0]
        out = save_video_strip(
            strips[0],
            osp.join(args.out_dir, f'{stem}.png'),
            title=f'{stem}: frames {args.start}+{args.frame_interval}k',
        )
        print(f'saved {out}')


if __name__ == '__main__':
    main()
