# Copyright (c) mmmim contributors. All rights reserved.
"""Save the images a config's data pipeline produces, with their masks.

Example::

    python tools/visualization/browse_dataset.py \\
        configs/simmim/simmim_vit-tiny-p8_1xb32-coslr-demo.py \\
        --output-dir work_dirs/browse --mode pipeline --show-number 8

Modes:

* ``original``: the loaded image only;
* ``transformed``: the pipeline's output image, and next to it the same
  image with the masked patches filled with grey;
* ``pipeline``: one panel per transform, then the masked image.

The mask is the pipeline's own (``GenerateMask``, SimMIM) when there is
one; otherwise it is drawn from the model's mask generator
(``model.backbone.mask_generator``, MAE and ConvMAE) on the grid of
``model.head.patch_size``. ``{output_dir}/masks.json`` lists the masked
fraction of every saved image.
"""

import argparse
import copy
import json
import math
import os
import os.path as osp
import random
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope

MASK_GREY = 127


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Save pipeline outputs and their masks'
    )
    parser.add_argument('config', help='config file')
    parser.add_argument('--output-dir', required=True, help='output folder')
    parser.add_argument(
        '--phase',
        default='train',
        choices=['train', 'val', 'test'],
        help='which dataloader of the config to browse',
    )
    parser.add_argument(
        '--show-number', type=int, default=12, help='number of images'
    )
    parser.add_argument(
        '--mode',
        default='transformed',
        choices=['original', 'transformed', 'pipeline'],
        help='what to draw (see the module doc)',
    )
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. '
        'train_dataloader.dataset.data_root=data/demo',
    )
    return parser.parse_args(argv)


def _type_name(cfg: dict) -> str:
    return str(cfg.get('type', '')).split('.')[-1]


def _is_pack(cfg: dict) -> bool:
    return _type_name(cfg).startswith('Pack')


def build_dataset_and_transforms(cfg: Config, phase: str) -> tuple:
    """The dataset (without pipeline) and the transforms before packing.

    Args:
        cfg (Config): The loaded config.
        phase (str): ``'train'``, ``'val'`` or ``'test'``.

    Returns:
        tuple: ``(dataset, [(name, transform), ...])``.
    """
    from mmmim.registry import DATASETS, TRANSFORMS

    dataset_cfg = copy.deepcopy(cfg[f'{phase}_dataloader']['dataset'])
    pipeline = dataset_cfg.pop('pipeline', [])
    dataset_cfg['pipeline'] = []
    dataset = DATASETS.build(dataset_cfg)
    transforms = [
        (_type_name(t), TRANSFORMS.build(t))
        for t in pipeline
        if not _is_pack(t)
    ]
    return dataset, transforms


def model_mask_source(cfg: Config) -> Optional[Tuple[object, int]]:
    """The model's mask generator and the patch size its mask refers to.

    Args:
        cfg (Config): The loaded config.

    Returns:
        tuple, optional: ``(generator, patch_size)``, or None when the
        model has no mask generator.
    """
    from mmmim.registry import TASK_UTILS

    model = cfg.get('model', {})
    backbone = model.get('backbone', {})
    gen_cfg = backbone.get('mask_generator')
    if not gen_cfg:
        return None
    patch = (model.get('head') or {}).get('patch_size')
    patch = patch or backbone.get('patch_size')
    if not isinstance(patch, int):
        return None
    return TASK_UTILS.build(copy.deepcopy(gen_cfg)), patch


def to_rgb(img: np.ndarray) -> np.ndarray:
    """An ``[H, W, 3]`` uint8 RGB copy of a BGR or grey pipeline image."""
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    img = img[..., :3][..., ::-1]
    return np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8))


def apply_mask(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill the masked patches of ``img`` with grey.

    Args:
        img (np.ndarray): RGB ``[H, W, 3]``.
        mask (np.ndarray): Bool ``[L]`` on a square-patch grid of the image
            (the patch size is ``sqrt(H * W / L)``).

    Returns:
        np.ndarray: The masked copy.
    """
    h, w = img.shape[:2]
    patch = math.isqrt(h * w // mask.size)
    grid = (h // patch, w // patch)
    if patch * patch * mask.size != h * w or grid[0] * grid[1] != mask.size:
        raise ValueError(
            f'a mask of {mask.size} tokens does not tile a {h}x{w} image'
        )
    cells = mask.reshape(grid).repeat(patch, 0).repeat(patch, 1)
    out = img.copy()
    out[cells] = MASK_GREY
    return out


def save_row(panels: List[np.ndarray], path: str) -> None:
    """Save images side by side (same height) as one PNG."""
    from PIL import Image

    height = max(p.shape[0] for p in panels)
    padded = [
        np.pad(p, ((0, height - p.shape[0]), (0, 0), (0, 0))) for p in panels
    ]
    Image.fromarray(np.concatenate(padded, axis=1)).save(path)


def save_pipeline(steps: List[Tuple[str, np.ndarray]], path: str) -> None:
    """Save one titled panel per pipeline step."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(steps), figsize=(2.2 * len(steps), 2.6), squeeze=False
    )
    for ax, (title, img) in zip(axes[0], steps):
        ax.imshow(img)
        ax.set_title(title, fontsize=8)
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def browse_one(
    info: dict,
    transforms: list,
    mode: str,
    model_mask: Optional[Tuple[object, int]],
) -> Optional[dict]:
    """Run the pipeline on one sample and collect what to draw.

    Returns:
        dict, optional: ``steps`` (list of ``(title, RGB image)``) and
        ``mask`` (bool ``[L]`` or None) and ``mask_source``; None when a
        transform dropped the sample.
    """
    results = copy.deepcopy(info)
    steps = []
    for name, transform in transforms:
        results = transform(results)
        if results is None:
            return None
        if 'img' in results:
            steps.append((name, to_rgb(results['img'])))
        if mode == 'original' and steps:
            break
    mask, source = results.get('mask'), 'pipeline'
    if mask is None and model_mask is not None and mode != 'original':
        generator, patch = model_mask
        h, w = results['img'].shape[:2]
        mask = generator(1, (h // patch, w // patch))[0]
        source = 'model'
    if mask is not None:
        mask = np.asarray(
            mask.cpu() if isinstance(mask, torch.Tensor) else mask,
            dtype=bool,
        ).reshape(-1)
    return dict(steps=steps, mask=mask, mask_source=source)


def browse(args: argparse.Namespace) -> List[dict]:
    """Save ``args.show_number`` images; return their summary."""
    from mmmim.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    os.makedirs(args.output_dir, exist_ok=True)
    summary = []
    with DefaultScope.overwrite_default_scope(
        cfg.get('default_scope', 'mmmim')
    ):
        dataset, transforms = build_dataset_and_transforms(cfg, args.phase)
        model_mask = model_mask_source(cfg)
        for idx in range(len(dataset)):
            if len(summary) >= args.show_number:
                break
            out = browse_one(
                dataset.get_data_info(idx), transforms, args.mode, model_mask
            )
            if out is None or not out['steps']:
                continue
            summary.append(save_sample(args, len(summary), idx, out))
    with open(osp.join(args.output_dir, 'masks.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    return summary


def save_sample(
    args: argparse.Namespace, number: int, idx: int, out: dict
) -> dict:
    """Draw one sample (the ``number``-th saved, dataset ``idx``)."""
    path = osp.join(args.output_dir, f'{number:03d}_{idx}.png')
    image, mask = out['steps'][-1][1], out['mask']
    masked = None if mask is None else apply_mask(image, mask)
    if args.mode == 'original':
        save_row([out['steps'][0][1]], path)
    elif args.mode == 'transformed':
        save_row([image] if masked is None else [image, masked], path)
    else:
        steps = list(out['steps'])
        if masked is not None:
            steps.append((f'mask ({out["mask_source"]})', masked))
        save_pipeline(steps, path)
    record = dict(file=osp.basename(path), index=idx)
    if mask is not None and args.mode != 'original':
        record.update(
            num_tokens=int(mask.size),
            masked_fraction=float(mask.mean()),
            mask_source=out['mask_source'],
        )
    return record


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    summary = browse(args)
    print(f'saved {len(summary)} images to {args.output_dir}')


if __name__ == '__main__':
    main()
