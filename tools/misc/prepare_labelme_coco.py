# Copyright (c) mmmim contributors. All rights reserved.
"""Fetch labelme's instance-segmentation example (3 real PASCAL VOC photos
with hand-drawn polygons) for the detection and segmentation tests.

Only the labelme sdist on PyPI carries ``examples/``; this script runs
``pip download --no-deps --no-binary :all: labelme==6.3.1`` (pip builds
the sdist's metadata with hatchling in an isolated build environment, so
no ``--no-build-isolation``), extracts two folders and fixes the COCO ids:

* ``data_dataset_coco/``: ``annotations.json`` (3 images, 12 polygons) and
  ``JPEGImages/``. Annotation ids start at 0 upstream, which COCOeval
  reads as "no match" (a perfect detector scores 0.949): they are shifted
  by +1. ``_background_`` (category 0) stays in the file; leave it out of
  a config's ``classes``.
* ``data_dataset_voc/``: ``JPEGImages/`` and ``SegmentationClass/``
  (palette PNGs: 0 background, 1-20 the VOC classes, 255 ignore), plus
  ``class_names.txt``.

The repository keeps the same folder in ``tests/data/labelme`` (with
labelme's GPL-3.0 ``LICENSE``), which the tests use offline; this script
rebuilds it from PyPI.

The result is cached (default ``$MMMIM_CACHE_DIR/labelme`` or
``~/.cache/mmmim/labelme``) and a second call only checks it. The last
line of stdout is the folder holding both datasets; progress goes to
stderr::

    python tools/misc/prepare_labelme_coco.py [--cache-dir DIR]
"""

import argparse
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tarfile
import tempfile

VERSION = '6.3.1'
EXAMPLE = f'labelme-{VERSION}/examples/instance_segmentation/'
# Folders of the example kept (overlay renders and .npy copies are not).
KEEP = (
    'data_dataset_coco/annotations.json',
    'data_dataset_coco/JPEGImages/',
    'data_dataset_voc/class_names.txt',
    'data_dataset_voc/JPEGImages/',
    'data_dataset_voc/SegmentationClass/',
)
NUM_IMAGES = 3
NUM_ANNOTATIONS = 12
STAMP = '.complete.json'


def log(message: str) -> None:
    print(f'[prepare_labelme_coco] {message}', file=sys.stderr)


def default_cache_dir() -> str:
    root = os.environ.get('MMMIM_CACHE_DIR') or osp.join(
        osp.expanduser('~'), '.cache', 'mmmim'
    )
    return osp.join(root, 'labelme')


def is_complete(root: str) -> bool:
    """Whether ``root`` holds a finished preparation."""
    if not osp.isfile(osp.join(root, STAMP)):
        return False
    ann = osp.join(root, 'data_dataset_coco', 'annotations.json')
    pngs = glob.glob(
        osp.join(root, 'data_dataset_voc', 'SegmentationClass', '*.png')
    )
    return osp.isfile(ann) and len(pngs) == NUM_IMAGES


def download_sdist(dest: str) -> str:
    """``pip download`` the labelme sdist into ``dest``; return its path."""
    cmd = [
        sys.executable,
        '-m',
        'pip',
        'download',
        '--no-deps',
        '--no-binary',
        ':all:',
        f'labelme=={VERSION}',
        '-d',
        dest,
    ]
    log(' '.join(cmd[1:]))
    # pip's own output goes to stderr so that stdout stays the result.
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    found = glob.glob(osp.join(dest, f'labelme-{VERSION}.tar.gz'))
    if not found:
        raise RuntimeError(f'pip did not leave labelme-{VERSION}.tar.gz')
    return found[0]


def extract_example(sdist: str, out: str) -> None:
    """Extract the kept members of the example into ``out``."""
    with tarfile.open(sdist, 'r:gz') as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith(EXAMPLE):
                continue
            rel = member.name[len(EXAMPLE) :]
            if not rel.startswith(KEEP) or '..' in rel.split('/'):
                continue
            target = osp.join(out, rel)
            os.makedirs(osp.dirname(target), exist_ok=True)
            with tar.extractfile(member) as src, open(target, 'wb') as dst:
                shutil.copyfileobj(src, dst)


def shift_annotation_ids(ann_file: str, shift: int = 1) -> dict:
    """Shift every annotation id of a COCO file by ``shift``, in place.

    COCOeval treats a ground-truth id of 0 as unmatched; ids from 1 keep
    the data unchanged and let a perfect detector score AP 1.0.
    """
    with open(ann_file) as f:
        coco = json.load(f)
    for ann in coco['annotations']:
        ann['id'] += shift
    with open(ann_file, 'w') as f:
        json.dump(coco, f)
    return coco


def prepare(cache_dir: str) -> str:
    """Build ``cache_dir/<version>`` unless complete; return it."""
    root = osp.join(cache_dir, VERSION)
    if is_complete(root):
        log(f'found the labelme example in {root}')
        return root
    os.makedirs(cache_dir, exist_ok=True)
    # Build next to the cache and move into place, so that an interrupted
    # run never leaves a half-written folder that looks complete.
    stage = tempfile.mkdtemp(prefix='.partial.', dir=cache_dir)
    try:
        sdist = download_sdist(stage)
        out = osp.join(stage, 'out')
        extract_example(sdist, out)
        coco = shift_annotation_ids(
            osp.join(out, 'data_dataset_coco', 'annotations.json')
        )
        if (len(coco['images']), len(coco['annotations'])) != (
            NUM_IMAGES,
            NUM_ANNOTATIONS,
        ):
            raise RuntimeError(
                'unexpected labelme example: '
                f'{len(coco["images"])} images, '
                f'{len(coco["annotations"])} annotations'
            )
        with open(osp.join(out, STAMP), 'w') as f:
            json.dump(
                dict(source=f'labelme=={VERSION} sdist', ann_id_shift=1), f
            )
        shutil.rmtree(root, ignore_errors=True)
        os.replace(out, root)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    log(f'prepared the labelme example in {root}')
    return root


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--cache-dir',
        default=default_cache_dir(),
        help='where to keep the data (default: %(default)s)',
    )
    args = parser.parse_args(argv)
    print(prepare(args.cache_dir))


if __name__ == '__main__':
    main()
