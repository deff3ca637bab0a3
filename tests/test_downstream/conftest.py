# Copyright (c) mmmim contributors. All rights reserved.
"""The labelme example (real photos with polygons) for dense-task tests."""

import json
from pathlib import Path

import pytest

#: labelme 6.3.1's instance-segmentation example, kept in the repository
#: (see its README.md and LICENSE); the layout of
#: ``tools/misc/prepare_labelme_coco.py``'s output, so no network is needed.
LABELME_ROOT = Path(__file__).resolve().parents[1] / 'data' / 'labelme'
NAMES = ('2011_000003', '2011_000006', '2011_000025')


@pytest.fixture(scope='session')
def labelme_root() -> Path:
    """The labelme example: ``data_dataset_coco/`` (3 images, 12 polygons,
    annotation ids from 1) and ``data_dataset_voc/``."""
    coco = LABELME_ROOT / 'data_dataset_coco'
    voc = LABELME_ROOT / 'data_dataset_voc'
    expected = [coco / 'annotations.json', voc / 'class_names.txt']
    for name in NAMES:
        expected += [
            coco / 'JPEGImages' / f'{name}.jpg',
            voc / 'JPEGImages' / f'{name}.jpg',
            voc / 'SegmentationClass' / f'{name}.png',
        ]
    missing = [
        str(p.relative_to(LABELME_ROOT)) for p in expected if not p.is_file()
    ]
    assert not missing, f'tests/data/labelme lacks {missing}'
    ann = json.loads((coco / 'annotations.json').read_text())
    assert (len(ann['images']), len(ann['annotations'])) == (3, 12)
    assert min(a['id'] for a in ann['annotations']) == 1
    return LABELME_ROOT
