# Copyright (c) mmmim contributors. All rights reserved.
"""Run a model on a folder: reconstruction panels or a .npy of features.

Examples::

    # Panels (original | masked | reconstruction | pasted) per image.
    python tools/infer.py reconstruct \\
        configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py data/demo/val \\
        --checkpoint work_dirs/demo/iter_3000.pth --out-dir work_dirs/rec

    # Features [N, D] of every image, with names next to them.
    python tools/infer.py features \\
        mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k photos/ \\
        --checkpoint mae_pretrain_vit_base.pth --pool avg \\
        --out work_dirs/features.npy

MODEL is a config file or a zoo name (``mmmim.apis.list_models()``);
``--checkpoint`` takes an mmmim checkpoint or an official MAE, SimMIM,
ConvMAE or VideoMAE file (converted in memory).
"""

import argparse
import os
import os.path as osp

import numpy as np


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('task', choices=['reconstruct', 'features'])
    parser.add_argument('model', help='config file or zoo name')
    parser.add_argument('inputs', nargs='+', help='files and/or folders')
    parser.add_argument('--checkpoint', help='mmmim or official weights')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument(
        '--skip-bad',
        action='store_true',
        help='skip unreadable files with a warning (default: stop)',
    )
    parser.add_argument('--frame-interval', type=int, default=2)
    rec = parser.add_argument_group('reconstruct')
    rec.add_argument('--out-dir', help='folder for the panels')
    rec.add_argument('--mask-ratio', type=float, default=None)
    rec.add_argument('--seed', type=int, default=0)
    feat = parser.add_argument_group('features')
    feat.add_argument('--out', help='the .npy file (names in .txt beside)')
    feat.add_argument('--pool', default='cls', choices=['cls', 'avg', 'none'])
    feat.add_argument(
        '--out-index', type=int, default=-1, help='block (stage) to read'
    )
    args = parser.parse_args()
    if args.task == 'reconstruct' and not args.out_dir:
        parser.error('reconstruct needs --out-dir')
    if args.task == 'features' and not (args.out or '').endswith('.npy'):
        parser.error('features needs --out FILE.npy')
    return args


def main() -> None:
    args = parse_args()
    from mmmim.apis import extract_features, get_model, reconstruct

    model = get_model(args.model, args.checkpoint, device=args.device)
    on_error = 'skip' if args.skip_bad else 'raise'
    if args.task == 'reconstruct':
        results = reconstruct(
            model,
            args.inputs,
            mask_ratio=args.mask_ratio,
            seed=args.seed,
            save_dir=args.out_dir,
            batch_size=args.batch_size,
            on_error=on_error,
            frame_interval=args.frame_interval,
        )
        print(f'saved {len(results)} reconstructions to {args.out_dir}')
        return
    features, names = extract_features(
        model,
        args.inputs,
        pool=args.pool,
        out_indices=args.out_index,
        batch_size=args.batch_size,
        on_error=on_error,
        frame_interval=args.frame_interval,
        return_names=True,
    )
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    np.save(args.out, features)
    names_file = osp.splitext(args.out)[0] + '.txt'
    with open(names_file, 'w', encoding='utf-8') as f:
        f.write('\n'.join(names) + '\n')
    print(
        f'saved features {features.shape} to {args.out}, names to {names_file}'
    )


if __name__ == '__main__':
    main()
