# Copyright (c) mmmim contributors. All rights reserved.
"""Save reconstruction figures of a trained masked image model.

Example::

    python tools/visualization/vis_reconstruction.py \\
        configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py \\
        work_dirs/demo/iter_3000.pth --img data/demo/val \\
        --out-dir work_dirs/demo/reconstructions

Each image gets ``{out_dir}/{stem}.png`` (original | masked |
reconstruction | reconstruction with the visible patches pasted back) and
all of them together go to ``{out_dir}/reconstructions.png``. Images are
prepared like validation images: the short side is resized to the model's
input size and the centre is cropped.
"""

import argparse
import os.path as osp
from typing import List

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

BATCH_SIZE = 16


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Save reconstruction figures of a masked image model'
    )
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--img',
        nargs='+',
        required=True,
        help='image files and/or folders (searched recursively)',
    )
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--mask-ratio',
        type=float,
        default=None,
        help="random masking at this ratio (default: the model's own mask "
        'generator)',
    )
    parser.add_argument('--seed', type=int, default=0, help='mask seed')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--img-size',
        type=int,
        default=None,
        help="input side (default: the backbone's)",
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.head.norm_pix=False',
    )
    return parser.parse_args()


def build_model(args: argparse.Namespace) -> torch.nn.Module:
    """Build the model of the config and load the checkpoint strictly."""
    import mmmim  # noqa: F401  (the safe checkpoint loader)
    from mmmim.registry import MODELS

    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmmim'))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    return model.to(args.device).eval()


def unique_stems(files: List[str]) -> List[str]:
    """File stems, numbered where two images share a name."""
    stems = [osp.splitext(osp.basename(path))[0] for path in files]
    seen: dict = {}
    unique = []
    for stem in stems:
        count = seen.get(stem, 0)
        seen[stem] = count + 1
        unique.append(stem if count == 0 else f'{stem}_{count}')
    return unique


def main() -> None:
    args = parse_args()
    from mmmim.visualization import (
        list_images,
        reconstruct_images,
        save_panels,
    )

    files = list_images(args.img)
    model = build_model(args)
    panels: List[dict] = []
    caption = ''
    for start in range(0, len(files), BATCH_SIZE):
        chunk = files[start : start + BATCH_SIZE]
        chunk_panels, caption = reconstruct_images(
            model,
            chunk,
            mask_ratio=args.mask_ratio,
            seed=args.seed + start,
            img_size=args.img_size,
        )
        panels.extend(chunk_panels)

    stems = unique_stems(files)
    for stem, panel in zip(stems, panels):
        out_file = osp.join(args.out_dir, f'{stem}.png')
        save_panels([panel], out_file, row_labels=[stem], caption=caption)
        print(f'saved {out_file}')
    grid_file = osp.join(args.out_dir, 'reconstructions.png')
    save_panels(panels, grid_file, row_labels=stems, caption=caption)
    print(f'saved {grid_file} ({len(files)} images)')


if __name__ == '__main__':
    main()
