# Copyright (c) mmmim contributors. All rights reserved.
"""Generate the MAE parity references from the official code.

Runs the official ``models_mae.py`` (facebookresearch/mae, a local clone the
user supplies) with synthesised weights on a fixed input and stores the
mask, the loss and a fingerprint of ``pred`` in
``tests/data/parity/mae_<arch>.pth``. The test
``tests/test_models/test_algorithms/test_mae_parity.py`` converts the same
weights with ``tools/model_converters/mae_to_mmmim.py`` and checks that
``MAE.reconstruct`` reproduces them.

The official code needs two adaptations on current timm and NumPy, applied
here at run time and not to its files: timm's ``Block`` no longer accepts
``qk_scale`` (always None there, so it is dropped), and ``np.float`` is gone
(it was the builtin ``float``).

Usage::

    python tools/analysis_tools/make_mae_parity_refs.py --official-repo DIR \
        [--out tests/data/parity] [--archs base large huge]
"""

import argparse
import os
import os.path as osp
import sys

import numpy as np
import torch

from mmmim.testing import (
    parity_inputs,
    summarize_prediction,
    synthesize_weights,
)

# official factory name, image size
ARCHS = dict(
    base=('mae_vit_base_patch16', 224),
    large=('mae_vit_large_patch16', 224),
    huge=('mae_vit_huge_patch14', 224),
)
BATCH = 2
SEED = 0


def import_official(repo: str):
    """Import ``models_mae`` from the official clone with the shims."""
    import timm.models.vision_transformer as timm_vit

    original_block = timm_vit.Block

    class BlockAcceptingQkScale(original_block):
        def __init__(self, *args, qk_scale=None, **kwargs):
            assert qk_scale is None
            super().__init__(*args, **kwargs)

    timm_vit.Block = BlockAcceptingQkScale
    if not hasattr(np, 'float'):
        np.float = float
    sys.path.insert(0, osp.abspath(repo))
    import models_mae

    return models_mae


def reference_patch_ids(mask: torch.Tensor) -> list:
    """8 masked and 8 visible patch ids of sample 0."""
    masked = torch.nonzero(mask[0]).flatten()[:8]
    visible = torch.nonzero(~mask[0]).flatten()[:8]
    return sorted(torch.cat([masked, visible]).tolist())


def make_reference(models_mae, arch: str, norm_pix: bool) -> dict:
    factory, img_size = ARCHS[arch]
    model = getattr(models_mae, factory)(norm_pix_loss=norm_pix).eval()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict(synthesize_weights(shapes, SEED), strict=False)
    imgs = parity_inputs(BATCH, img_size, seed=SEED + 1)
    torch.manual_seed(SEED + 2)  # the official noise for random_masking
    with torch.no_grad():
        loss, pred, mask = model(imgs, mask_ratio=0.75)
    mask = mask.bool()
    return dict(
        arch=arch,
        norm_pix=norm_pix,
        img_size=img_size,
        seed=SEED,
        mask=mask,
        loss=loss.double(),
        pred=summarize_prediction(pred, reference_patch_ids(mask)),
        official_commit='efb2a80',
        timm_fused_attn=os.environ.get('TIMM_FUSED_ATTN', 'default'),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--official-repo',
        required=True,
        help='a clone of facebookresearch/mae',
    )
    parser.add_argument('--out', default='tests/data/parity')
    parser.add_argument(
        '--archs', nargs='+', default=list(ARCHS), choices=list(ARCHS)
    )
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    models_mae = import_official(args.official_repo)
    os.makedirs(args.out, exist_ok=True)
    for arch in args.archs:
        norm_pix = arch != 'large'  # cover both target modes
        ref = make_reference(models_mae, arch, norm_pix)
        path = osp.join(args.out, f'mae_{arch}.pth')
        torch.save(ref, path)
        print(f'{arch}: loss {ref["loss"].item():.6f} -> {path}')


if __name__ == '__main__':
    main()
