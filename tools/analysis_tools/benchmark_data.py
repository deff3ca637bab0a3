# Copyright (c) mmmim contributors. All rights reserved.
"""Time the pre-training input pipeline: mmpretrain's MAE pipeline, mmmim's
fast path (``LoadAndRandomResizedCrop``) and the device-decode path
(``LoadJpegForDeviceDecode`` + decode in the data preprocessor), side by
side on real JPEGs.

Single process (default): every pipeline runs over all images once per
round, pipelines interleaved, one thread (OpenCV and torch), CPU time:
the table gives img/s per core and the ratio to mmpretrain. With
``--workers N``: a real DataLoader with N single-threaded workers per
pipeline, wall-clock img/s in total and per worker. ``--device`` times the
data preprocessor's decode of a batch on that device (``cuda``: nvJPEG).
The PSNR line compares the fast path with mmpretrain's output for the same
crop box (full decode, crop, Pillow resize).

Usage::

    python tools/analysis_tools/benchmark_data.py [--images data/demo/train]
        [--num-images 200] [--scale 224] [--crop-ratio-range 0.2 1.0]
        [--rounds 5] [--workers N] [--device cuda] [--quick]
"""

import argparse
import statistics
import sys

from mmmim.analysis import data_pipeline as dp


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--images',
        default='data/demo/train/photos',
        help='folder of JPEGs (recursive)',
    )
    parser.add_argument(
        '--num-images', type=int, default=None, help='default: all'
    )
    parser.add_argument(
        '--scale', type=int, default=224, help='output size (MAE: 224)'
    )
    parser.add_argument(
        '--crop-ratio-range',
        type=float,
        nargs=2,
        default=(0.2, 1.0),
        help='area range of the crop (MAE: 0.2 1.0)',
    )
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument(
        '--workers',
        type=int,
        default=0,
        help='also time a DataLoader with this many workers per pipeline',
    )
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument(
        '--per-round',
        type=int,
        default=256,
        help='images per round and pipeline (the list repeats)',
    )
    parser.add_argument(
        '--loader-per-round',
        type=int,
        default=1024,
        help='images per round of a DataLoader (--workers)',
    )
    parser.add_argument(
        '--device',
        default=None,
        help='time the device decode there (cpu, cuda); default: skip',
    )
    parser.add_argument(
        '--quick',
        action='store_true',
        help='3 rounds, 512 images per DataLoader round (about a minute)',
    )
    return parser.parse_args()


def _table(results: dict, unit: str, per: int = 0) -> None:
    reference = results['mmpretrain'].median
    header = f'| pipeline | {unit} (median) | range | vs mmpretrain |'
    if per:
        header += ' per worker |'
    print(header)
    print('|---' * (5 if per else 4) + '|')
    for result in results.values():
        row = (
            f'| {result.name} | {result.median:,.0f} | '
            f'{min(result.rates):,.0f}-{max(result.rates):,.0f} | '
            f'{result.median / reference:.2f}x |'
        )
        if per:
            row += f' {result.median / per:,.0f} |'
        print(row)


def main() -> None:
    args = parse_args()
    if args.quick:
        args.rounds = min(args.rounds, 3)
        args.per_round = min(args.per_round, 128)
        args.loader_per_round = min(args.loader_per_round, 512)
    dp.single_thread()
    try:
        paths = dp.list_images(args.images, args.num_images)
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    crop = dict(
        dp.MAE_CROP,
        scale=args.scale,
        crop_ratio_range=tuple(args.crop_ratio_range),
    )
    pipelines = dp.build_pipelines(crop)
    print(dp.host_summary())
    print(f'{dp.describe_images(paths)} from {args.images}; crop {crop}')
    values = dp.fast_path_psnr(paths, crop)
    print(
        f'PSNR fast path vs mmpretrain, same boxes: min {min(values):.1f} '
        f'dB, median {statistics.median(values):.1f} dB'
    )
    print(f'\nSingle process, 1 thread, CPU time, {args.rounds} rounds:')
    _table(
        dp.time_single_process(
            pipelines, paths, args.rounds, images_per_round=args.per_round
        ),
        'img/s/core',
    )
    sys.stdout.flush()
    if args.workers:
        print(
            f'\nDataLoader, {args.workers} workers, batch {args.batch_size},'
            f' {args.loader_per_round} images per round, wall clock:'
        )
        _table(
            dp.time_dataloader(
                pipelines,
                paths,
                args.workers,
                args.rounds,
                args.batch_size,
                args.loader_per_round,
            ),
            'img/s',
            per=args.workers,
        )
        sys.stdout.flush()
    if args.device:
        result = dp.time_device_decode(
            paths, pipelines['device'], args.device, rounds=args.rounds
        )
        print(
            f'\nDevice decode (data preprocessor) on {args.device}, batch '
            f'256: {result.median:,.0f} img/s (range '
            f'{min(result.rates):,.0f}-{max(result.rates):,.0f})'
        )


if __name__ == '__main__':
    main()
