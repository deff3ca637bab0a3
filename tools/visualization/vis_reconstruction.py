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
prepared like validation images (:func:`mmmim.apis.reconstruct`): the short
side is resized to the model's input size and the centre is cropped; 16-bit
images are scaled to 8 bits. An unreadable image stops the tool with its
name, or is skipped with a warning under ``--skip-bad``.
"""

import argparse
import os.path as osp
import sys
import warnings
from typing import Dict, List

from mmmim.utils.cfg_options import CfgOptionsAction


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
        help="input side; must be the model's (default: the backbone's)",
    )
    parser.add_argument(
        '--skip-bad',
        action='store_true',
        help='skip unreadable images with a warning (default: stop and '
        'name the file)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config settings, e.g. model.head.norm_pix=False',
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmmim.apis import get_model, reconstruct
    from mmmim.apis.inputs import model_input_size

    options: Dict = args.cfg_options or {}
    try:
        model = get_model(
            args.config,
            pretrained=args.checkpoint,
            device=args.device,
            **options,
        )
    except ValueError as error:
        sys.exit(
            f'error: {args.checkpoint} does not fit {args.config} (missing '
            f'keys, or a checkpoint of another model): {error}'
        )
    missing = model.checkpoint_report['missing']
    if missing:  # reconstructions need the decoder and head too
        sys.exit(
            f'error: {args.checkpoint} has missing keys for this model: '
            f'{", ".join(missing[:6])}{" ..." if len(missing) > 6 else ""}'
        )
    size = model_input_size(model)[1]
    if args.img_size is not None and args.img_size != size:
        sys.exit(
            f'error: --img-size {args.img_size}: the model takes {size}-px '
            'images (set model.backbone.img_size and the neck in the config '
            'to change it)'
        )
    with warnings.catch_warnings(record=True) as skipped:
        warnings.simplefilter('always')
        try:
            results: List[dict] = reconstruct(
                model,
                args.img,
                mask_ratio=args.mask_ratio,
                seed=args.seed,
                save_dir=args.out_dir,
                on_error='skip' if args.skip_bad else 'raise',
            )
        except ValueError as error:  # an unreadable image, named
            sys.exit(f'error: {error} (or pass --skip-bad)')
    for warning in skipped:
        print(f'warning: {warning.message}', file=sys.stderr)
    if not results:
        sys.exit('error: no readable image among --img')
    for name in _stems(results):
        print(f'saved {osp.join(args.out_dir, name + ".png")}')
    grid_file = osp.join(args.out_dir, 'reconstructions.png')
    print(f'saved {grid_file} ({len(results)} images)')


def _stems(results: List[dict]) -> List[str]:
    """The file stems :func:`mmmim.apis.reconstruct` saved under (numbered
    where two images share a name)."""
    seen: dict = {}
    stems = []
    for result in results:
        stem = osp.splitext(osp.basename(result['name']))[0]
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f'{stem}_{seen[stem] - 1}')
    return stems


if __name__ == '__main__':
    main()
