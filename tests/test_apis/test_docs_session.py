# Copyright (c) mmmim contributors. All rights reserved.
"""The Python session of ``docs/en/python_api.md`` runs, on real photos,
with a checkpoint in the official MAE format, and its values are right.

Every ``python`` block of the page runs in order in one namespace (blocks
after a ``<!-- not run`` comment are skipped), in a folder holding
``configs/``, ``data/demo`` and ``mae_demo_official.pth``.
"""

import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from .official_mae import save_official_mae

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / 'docs' / 'en' / 'python_api.md'
BLOCK = re.compile(r'(<!-- not run[^>]*-->\n)?```python\n(.*?)```', re.S)


def page_blocks():
    return [code for skip, code in BLOCK.findall(PAGE.read_text()) if not skip]


@pytest.fixture(scope='module')
def session(tmp_path_factory, demo_data_root):
    """Run the page's blocks; return their namespace and the weights."""
    work = tmp_path_factory.mktemp('docs_session')
    (work / 'configs').symlink_to(REPO / 'configs')
    (work / 'data').mkdir()
    (work / 'data' / 'demo').symlink_to(demo_data_root)
    weights = save_official_mae(str(work / 'mae_demo_official.pth'))
    namespace = {}
    cwd = os.getcwd()
    os.chdir(work)
    try:
        for code in page_blocks():
            exec(compile(code, str(PAGE), 'exec'), namespace)
    finally:
        os.chdir(cwd)
    return namespace, weights, work


def test_page_has_the_session_blocks():
    blocks = page_blocks()
    assert len(blocks) >= 5
    assert 'get_model' in blocks[0] and 'mae_demo_official.pth' in blocks[0]
    assert len(blocks[0].strip().splitlines()) <= 10


def test_official_checkpoint_is_converted_and_loaded(session):
    namespace, weights, _ = session
    model = namespace['model']
    assert model.checkpoint_report['format'] == 'mae'
    assert model.checkpoint_report['missing'] == []
    # Values from the official names land in the right mmmim tensors.
    pairs = {
        'blocks.3.attn.qkv.weight': model.backbone.blocks[3].attn.qkv.weight,
        'decoder_pred.weight': model.neck.decoder_pred.weight,
        'mask_token': model.neck.mask_token,
        'pos_embed': model.backbone.pos_embed,
    }
    for key, tensor in pairs.items():
        assert torch.equal(tensor.detach(), weights[key]), key


def test_reconstructions_and_features(session, demo_data_root):
    namespace, _, work = session
    results, features = namespace['results'], namespace['features']
    photos = sorted((demo_data_root / 'val').rglob('*.jpg'))
    assert len(results) == len(photos) == features.shape[0]
    assert features.shape == (len(photos), 192)
    for result in results:
        assert result['mask'].shape == (64,)  # (64 / 8) ** 2 patches
        assert result['mask'].sum() == 48  # 75 % masked
        hidden = np.repeat(np.repeat(result['mask'].reshape(8, 8), 8, 0), 8, 1)
        # Visible patches are the original, hidden ones the prediction.
        assert np.array_equal(
            result['pasted'][~hidden], result['original'][~hidden]
        )
        assert np.array_equal(
            result['pasted'][hidden], result['reconstruction'][hidden]
        )
        assert (result['masked'][hidden] == 0.5).all()
    # The panels were written, one per photo and the overview.
    written = sorted(p.name for p in (work / 'rec').glob('*.png'))
    assert len(written) == len(photos) + 1
    assert 'reconstructions.png' in written


def test_masking_is_off_for_features(session):
    namespace, _, work = session
    model, features = namespace['model'], namespace['features']
    assert np.array_equal(namespace['again'], features)
    # Negative control: the pre-training forward (masked) gives other
    # cls tokens, so equality above is not trivially true.
    from mmmim.apis.inputs import iter_batches

    _, _, batch = next(iter_batches(model, str(work / 'data/demo/val')))
    with torch.no_grad():
        masked_cls = model.backbone(batch)[0][:, 0]
    assert not np.allclose(masked_cls.numpy(), features[: len(batch)])
    assert not namespace['unmasked'][0]['mask'].any()
    # mask_ratio=0: every patch visible, so pasted == original.
    unmasked = namespace['unmasked'][0]
    assert np.array_equal(unmasked['pasted'], unmasked['original'])


def test_layers_and_inferencer(session):
    namespace, _, _ = session
    first, last = namespace['blocks']
    assert first.shape == last.shape == (namespace['features'].shape[0], 192)
    assert not np.allclose(first, last)
    predictions = namespace['out']['predictions']
    stacked = np.stack([p['feature'] for p in predictions])
    np.testing.assert_allclose(stacked, last, rtol=1e-5, atol=1e-6)
