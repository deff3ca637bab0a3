# Copyright (c) mmmim contributors. All rights reserved.
"""Input-pipeline throughput of MIM pre-training: mmpretrain's MAE
pipeline against mmmim's fast path, side by side in one run
(``tools/analysis_tools/benchmark_data.py``).

Three ways to feed a model are measured on the same real JPEGs:

* ``mmpretrain``: ``LoadImageFromFile``, ``RandomResizedCrop``,
  ``RandomFlip``, ``PackInputs``, built from mmpretrain's own MAE dataset
  config (``imagenet_bs512_mae.py``) when the package ships it;
* ``mmmim``: ``LoadAndRandomResizedCrop`` with the same parameters and
  ``flip_prob=0.5`` (the flip of ``RandomFlip``), ``PackInputs``;
* ``device``: ``LoadJpegForDeviceDecode`` in the loader (bytes and crop
  recipe only), the decode in the data preprocessor on ``--device``.

Single process: each side runs over all images once per round, sides
interleaved, CPU time of the process with one thread (img/s per core).
With workers: a real ``DataLoader`` per side, wall-clock img/s in total
and per worker.
"""

import glob
import math
import os
import os.path as osp
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

#: The MAE pre-training crop of mmpretrain's config (and mmmim's).
MAE_CROP = dict(
    scale=224,
    crop_ratio_range=(0.2, 1.0),
    backend='pillow',
    interpolation='bicubic',
)
JPEG_EXTENSIONS = ('.jpg', '.jpeg', '.JPEG', '.JPG')


def single_thread() -> None:
    """One thread per process for OpenCV and torch: a worker is a core."""
    import cv2

    cv2.setNumThreads(0)
    torch.set_num_threads(1)


def list_images(folder: str, num: Optional[int] = None) -> List[str]:
    """The JPEGs under ``folder`` (recursive, sorted), the first ``num``.

    Raises:
        FileNotFoundError: If there are none.
    """
    paths = sorted(
        path
        for path in glob.glob(osp.join(folder, '**', '*'), recursive=True)
        if path.endswith(JPEG_EXTENSIONS)
    )
    if not paths:
        raise FileNotFoundError(
            f'no JPEG under {folder!r}: pass --images DIR, or create the '
            'demo photos with `make demo`'
        )
    return paths[:num] if num else paths


def mmpretrain_mae_pipeline_cfg() -> List[dict]:
    """The ``train_pipeline`` of mmpretrain's MAE dataset config, read from
    the installed package (the same list written out if it is absent)."""
    import mmpretrain

    path = osp.join(
        osp.dirname(mmpretrain.__file__),
        '.mim',
        'configs',
        '_base_',
        'datasets',
        'imagenet_bs512_mae.py',
    )
    if osp.isfile(path):
        from mmengine.config import Config

        return [dict(step) for step in Config.fromfile(path).train_pipeline]
    return [
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', **MAE_CROP),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackInputs'),
    ]


def build_pipelines(
    crop: Optional[dict] = None,
) -> Dict[str, Callable[[dict], dict]]:
    """The three pipelines, ``crop`` (``RandomResizedCrop`` arguments,
    default MAE's) for each. The reference is built in mmpretrain's scope
    from its own config; the others from mmmim's registry."""
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope

    import mmmim.datasets  # noqa: F401  registers the transforms

    crop = dict(MAE_CROP if crop is None else crop)
    reference = mmpretrain_mae_pipeline_cfg()
    if crop != MAE_CROP:
        reference[1] = dict(type='RandomResizedCrop', **crop)
    import mmpretrain.datasets  # noqa: F401

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        mmpretrain_side = Compose(reference)
    interpolation = crop.get('interpolation', 'bilinear')
    device_crop = {k: v for k, v in crop.items() if k != 'backend'}
    with DefaultScope.overwrite_default_scope('mmmim'):
        fast = Compose(
            [
                # The flip drawn in the same step (RandomFlip(prob=0.5)'s
                # distribution without its per-image overhead).
                dict(type='LoadAndRandomResizedCrop', flip_prob=0.5, **crop),
                dict(type='mmpretrain.PackInputs'),
            ]
        )
        device = Compose(
            [
                dict(
                    type='LoadJpegForDeviceDecode',
                    flip_prob=0.5,
                    **dict(device_crop, interpolation=interpolation),
                ),
                dict(
                    type='mmpretrain.PackInputs',
                    meta_keys=('img_path', 'device_decode'),
                ),
            ]
        )
    return dict(mmpretrain=mmpretrain_side, mmmim=fast, device=device)


@dataclass
class SideResult:
    """Per-round rates of one pipeline (images per second)."""

    name: str
    rates: List[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def time_single_process(
    pipelines: Dict[str, Callable[[dict], dict]],
    paths: Sequence[str],
    rounds: int = 5,
    warmup: int = 1,
    images_per_round: int = 256,
) -> Dict[str, SideResult]:
    """Rounds of each pipeline over ``paths`` (repeated up to
    ``images_per_round``), sides interleaved (ABC, CBA, ... so that drift
    cancels), in CPU time of this process.

    Returns:
        dict: Name to per-round img/s per core.
    """
    single_thread()
    repeats = max(1, math.ceil(images_per_round / len(paths)))
    paths = list(paths) * repeats
    names = list(pipelines)
    results = {name: SideResult(name) for name in names}
    for round_idx in range(warmup + rounds):
        order = names if round_idx % 2 == 0 else names[::-1]
        for name in order:
            pipeline = pipelines[name]
            start = time.process_time()
            for path in paths:
                pipeline(dict(img_path=path))
            elapsed = time.process_time() - start
            if round_idx >= warmup:
                results[name].rates.append(len(paths) / elapsed)
    return results


class _ImageList(torch.utils.data.Dataset):
    """``paths`` repeated ``repeats`` times through ``pipeline``."""

    def __init__(self, paths, pipeline, repeats):
        self.paths, self.pipeline, self.repeats = paths, pipeline, repeats

    def __len__(self):
        return len(self.paths) * self.repeats

    def __getitem__(self, index):
        path = self.paths[index % len(self.paths)]
        return self.pipeline(dict(img_path=path))


def _worker_init(_: int) -> None:
    single_thread()


def time_dataloader(
    pipelines: Dict[str, Callable[[dict], dict]],
    paths: Sequence[str],
    workers: int,
    rounds: int = 3,
    batch_size: int = 32,
    images_per_round: int = 1024,
    prefetch_factor: int = 2,
) -> Dict[str, SideResult]:
    """Wall-clock img/s of a ``DataLoader`` with ``workers`` workers per
    pipeline, rounds interleaved; the first batch of a round (the queue
    filling) is not counted.

    Returns:
        dict: Name to per-round img/s of the whole loader.
    """
    from mmengine.dataset import default_collate, pseudo_collate

    repeats = max(1, math.ceil(images_per_round / len(paths)))
    loaders = {}
    for name, pipeline in pipelines.items():
        loaders[name] = torch.utils.data.DataLoader(
            _ImageList(paths, pipeline, repeats),
            batch_size=batch_size,
            num_workers=workers,
            persistent_workers=True,
            prefetch_factor=prefetch_factor,
            worker_init_fn=_worker_init,
            collate_fn=pseudo_collate if name == 'device' else default_collate,
            drop_last=True,
        )
    results = {name: SideResult(name) for name in pipelines}
    names = list(pipelines)
    for round_idx in range(rounds + 1):  # round 0 starts the workers
        order = names if round_idx % 2 == 0 else names[::-1]
        for name in order:
            iterator = iter(loaders[name])
            next(iterator)
            start, count = time.perf_counter(), 0
            for batch in iterator:
                count += len(batch['data_samples'])
            elapsed = time.perf_counter() - start
            if round_idx > 0:
                results[name].rates.append(count / elapsed)
    return results


def time_device_decode(
    paths: Sequence[str],
    pipeline: Callable[[dict], dict],
    device: str,
    batch_size: int = 256,
    rounds: int = 5,
) -> SideResult:
    """img/s of ``decode_and_crop`` on ``device`` for batches of packed
    files (``pipeline``: the ``device`` pipeline), after one warm-up batch.
    """
    from mmmim.datasets.transforms.device_decode import decode_and_crop

    packed = [pipeline(dict(img_path=path)) for path in paths]
    reps = max(1, math.ceil(batch_size / len(packed)))
    packed = (packed * reps)[:batch_size]
    inputs = [item['inputs'] for item in packed]
    recipes = [
        item['data_samples'].metainfo['device_decode'] for item in packed
    ]
    dev = torch.device(device)
    result = SideResult(f'decode on {device}')

    def sync():
        if dev.type == 'cuda':
            torch.cuda.synchronize(dev)

    decode_and_crop(inputs, recipes, dev)
    sync()
    for _ in range(rounds):
        start = time.perf_counter()
        decode_and_crop(inputs, recipes, dev)
        sync()
        result.rates.append(len(inputs) / (time.perf_counter() - start))
    return result


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (inf if equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def exact_crop(path: str, box, crop: dict) -> np.ndarray:
    """The reference output for ``box``: mmcv's full decode, the crop and
    mmcv's resize, as mmpretrain's ``RandomResizedCrop`` makes it."""
    import mmcv

    top, left, height, width = box
    img = mmcv.imread(path)
    size = crop['scale']
    size = (size, size) if isinstance(size, int) else tuple(size)
    return mmcv.imresize(
        img[top : top + height, left : left + width],
        size[::-1],
        interpolation=crop.get('interpolation', 'bilinear'),
        backend=crop.get('backend', 'cv2'),
    )


def fast_path_psnr(
    paths: Sequence[str], crop: Optional[dict] = None, seed: int = 0
) -> List[float]:
    """PSNR of ``LoadAndRandomResizedCrop`` against :func:`exact_crop` of
    the same box, one draw per image."""
    from mmmim.datasets.transforms import LoadAndRandomResizedCrop

    crop = dict(MAE_CROP if crop is None else crop)
    transform = LoadAndRandomResizedCrop(**crop)
    np.random.seed(seed)
    values = []
    for path in paths:
        out = transform(dict(img_path=path))
        reference = exact_crop(path, out['crop_box'], crop)
        values.append(psnr(out['img'], reference))
    return values


def describe_images(paths: Sequence[str]) -> str:
    """'N JPEGs, median W x H' of the files."""
    from PIL import Image

    sizes = []
    for path in paths:
        with Image.open(path) as image:
            sizes.append(image.size)
    width = statistics.median(w for w, _ in sizes)
    height = statistics.median(h for _, h in sizes)
    return f'{len(paths)} JPEGs, median {width:.0f} x {height:.0f}'


def host_summary() -> str:
    """Versions and the machine's load, for the report's first line."""
    import cv2
    import mmpretrain
    import PIL

    return (
        f'torch {torch.__version__}, opencv {cv2.__version__}, '
        f'pillow {PIL.__version__}, mmpretrain {mmpretrain.__version__}, '
        f'{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}'
    )
