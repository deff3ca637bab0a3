# Copyright (c) mmmim contributors. All rights reserved.
"""tools/misc/prepare_demo_data.py builds the demo folder from packages."""

from PIL import Image

from .conftest import run_tool


def test_prepare_demo_data(tmp_path):
    out = tmp_path / 'demo'
    proc = run_tool(['tools/misc/prepare_demo_data.py', '--out', str(out)])
    train = sorted(out.glob('train/*/*.jpg'))
    val = sorted(out.glob('val/*/*.jpg'))
    assert len(val) == 6
    assert len(train) >= 100
    assert {p.parent.name for p in train} == {
        'photos',
        'bikes',
        'bigbuckbunny',
        'carphone_pristine',
    }
    # Held-out images are not in the training set.
    assert not {p.name for p in val} & {p.name for p in train}
    for path in train[::20] + val:
        with Image.open(path) as img:
            assert img.mode == 'RGB'
            assert max(img.size) <= 512 and min(img.size) >= 100
    assert f'wrote {len(train)} train and 6 val images' in proc.stdout
    # A second call keeps the complete folder.
    again = run_tool(['tools/misc/prepare_demo_data.py', '--out', str(out)])
    assert 'is ready' in again.stdout
    assert not (tmp_path / 'demo.partial').exists()
