# Copyright (c) mmmim contributors. All rights reserved.
"""Generate the MAE parity references from the official code.

Runs the official ``models_mae.py`` (facebookresearch/mae, a local clone the
user supplies) with weights synthesised from its own key names and shapes
on a fixed input and stores those names and shapes, fingerprints of the
fixed sin-cos tables, the mask, the loss and a fingerprint of ``pred`` in
``tests/data/parity/mae_<arch>.pth``. It also runs the fine-tuning
classifier of ``models_vit.py`` (ViT-B/16, ``global_pool=True``, 10
classes) and stores its key names and shapes and the logits in
``tests/data/parity/mae_finetune.pth``. The test
``tests/test_models/test_algorithms/test_mae_parity.py`` synthesises the
same weights under the official names, converts them with
``mmmim/utils/converters/mae.py`` and checks that mmmim reproduces the
outputs.

The official code needs two adaptations on current timm and NumPy, applied
here at run time and not to its files: timm's ``Block`` no longer accepts
``qk_scale`` (always None there, so it is dropped), and ``np.float`` is gone
(it was the builtin ``float``). ``models_vit.py`` was written for timm
0.3.2, whose ``VisionTransformer.forward`` is ``head(forward_features(x))``;
timm 1.x adds its own pooling and ``fc_norm`` in ``forward_head``, so the
logits are computed as timm 0.3.2 (and ``main_finetune.py``) did.

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
FINETUNE_CLASSES = 10
OFFICIAL_COMMIT = 'efb2a80'


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
    import models_vit

    return models_mae, models_vit


def sums(x: torch.Tensor) -> dict:
    """Float64 sum, absolute sum and squared sum of a tensor."""
    x = x.detach().double()
    return dict(sum=x.sum(), abs_sum=x.abs().sum(), sq_sum=x.pow(2).sum())


def finetune_pos_embed(shape: tuple, seed: int) -> torch.Tensor:
    """A learned-looking fine-tuned position table (``synthesize_weights``
    skips ``pos_embed``; the test rebuilds the same one)."""
    gen = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(shape, generator=gen)


def reference_patch_ids(mask: torch.Tensor) -> list:
    """8 masked and 8 visible patch ids of sample 0."""
    masked = torch.nonzero(mask[0]).flatten()[:8]
    visible = torch.nonzero(~mask[0]).flatten()[:8]
    return sorted(torch.cat([masked, visible]).tolist())


def make_reference(models_mae, arch: str, norm_pix: bool) -> dict:
    factory, img_size = ARCHS[arch]
    model = getattr(models_mae, factory)(norm_pix_loss=norm_pix).eval()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing, unexpected = model.load_state_dict(
        synthesize_weights(shapes, SEED), strict=False
    )
    # Only the fixed sin-cos tables keep the model's own values.
    assert set(missing) == {'pos_embed', 'decoder_pos_embed'}, missing
    assert not unexpected, unexpected
    fixed = {k: sums(model.state_dict()[k]) for k in sorted(missing)}
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
        shapes=shapes,
        fixed_tables=fixed,
        mask=mask,
        loss=loss.double(),
        pred=summarize_prediction(pred, reference_patch_ids(mask)),
    )


def make_finetune_reference(models_vit) -> dict:
    """Logits of the official global-pool ViT-B/16 classifier."""
    model = models_vit.vit_base_patch16(
        num_classes=FINETUNE_CLASSES, global_pool=True, drop_path_rate=0.1
    ).eval()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    weights = synthesize_weights(shapes, SEED + 10)
    weights['pos_embed'] = finetune_pos_embed(shapes['pos_embed'], SEED + 11)
    model.load_state_dict(weights, strict=True)
    imgs = parity_inputs(BATCH, 224, seed=SEED + 12)
    with torch.no_grad():
        # timm 0.3.2's VisionTransformer.forward (see the module doc).
        logits = model.head(model.forward_features(imgs))
    return dict(
        seed=SEED + 10,
        pos_embed_seed=SEED + 11,
        input_seed=SEED + 12,
        img_size=224,
        num_classes=FINETUNE_CLASSES,
        global_pool=True,
        shapes=shapes,
        logits=logits.double(),
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
        '--archs', nargs='*', default=list(ARCHS), choices=list(ARCHS)
    )
    parser.add_argument(
        '--no-finetune',
        action='store_true',
        help='skip the fine-tuned classifier (mae_finetune.pth)',
    )
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    models_mae, models_vit = import_official(args.official_repo)
    os.makedirs(args.out, exist_ok=True)
    meta = dict(
        official_commit=OFFICIAL_COMMIT,
        timm_fused_attn=os.environ.get('TIMM_FUSED_ATTN', 'default'),
    )
    for arch in args.archs:
        norm_pix = arch != 'large'  # cover both target modes
        ref = dict(make_reference(models_mae, arch, norm_pix), **meta)
        path = osp.join(args.out, f'mae_{arch}.pth')
        torch.save(ref, path)
        print(f'{arch}: loss {ref["loss"].item():.6f} -> {path}')
    if not args.no_finetune:
        ref = dict(make_finetune_reference(models_vit), **meta)
        path = osp.join(args.out, 'mae_finetune.pth')
        torch.save(ref, path)
        print(f'finetune: logits {tuple(ref["logits"].shape)} -> {path}')


if __name__ == '__main__':
    main()
