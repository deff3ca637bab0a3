# Copyright (c) mmmim contributors. All rights reserved.
"""Generate the ConvMAE parity references from the official code.

Runs the official ConvMAE models (Alpha-VL/ConvMAE, a local copy the user
supplies) with weights synthesised from their key names and shapes, on a
fixed input, and stores, with the official key names and shapes the
weights come from (``shapes``), small fingerprints in
``tests/data/parity/``:

* ``convmae_pretrain.pth``: ``models_convmae.convmae_convvit_base_patch16``
  (norm-pix) with the official random mask: the mask, the loss, the
  encoder output's sums, a fingerprint of ``pred`` and of the fixed
  sin-cos tables;
* ``convmae_finetune.pth``: ``models_convvit.convvit_base_patch16``
  (global pool, 10 classes): the logits;
* ``convmae_det_tiny.pth``: the detectron2 backbone
  ``DET/models/convmae.py::ConvViTDet`` at toy size (128 px, channels
  16/24/32, 1 + 1 + 11 blocks, 4 heads, window 4, global blocks
  0/3/6/10 as hard-coded in its ``forward``), its 4 x 4 position table
  resized to 8 x 8 by the official ``resize_pos_embed``: fingerprints of
  E1-E4;
* ``convmae_det.pth`` (``--det``): the same backbone at its real size,
  1024 x 1024 (window 16), much slower on a CPU.

``tests/test_models/test_algorithms/test_convmae_parity.py`` converts the
same weights with ``tools/model_converters/convmae_to_mmmim.py`` and checks
that mmmim reproduces them.

The official code runs on current NumPy and without detectron2 through
adaptations applied here at run time, never to its files: ``np.float``
(removed in NumPy 1.24) is aliased to the builtin ``float`` it always was,
and for ``--det`` the three detectron2 names the backbone file imports
(``ShapeSpec``, ``Backbone``, ``setup_logger``) are stubbed; the backbone
itself does not use them in ``forward``. ``ConvViTDet`` hard-codes its
sizes in ``ConvViT.__init__`` (image 1024, channels 256/384/768, depths
2/2/11, 12 heads); for the toy case those four assignments are replaced
in the source text before it is executed (each must occur exactly once,
so a changed file fails loudly), everything else runs as written.

Usage::

    python tools/analysis_tools/make_convmae_parity_refs.py \
        --official-repo DIR [--out tests/data/parity] [--det]
"""

import argparse
import importlib.util
import logging
import os
import os.path as osp
import sys
import types

import numpy as np
import torch
import torch.nn as nn

from mmmim.models.utils import build_2d_sincos_pos_embed
from mmmim.testing import (
    parity_inputs,
    summarize_prediction,
    synthesize_weights,
)

BATCH = 2
SEED = 0
NUM_CLASSES = 10
OFFICIAL_COMMIT = '4c97b4c'


def finetune_pos_embed(seed: int) -> torch.Tensor:
    """A learned-looking 14 x 14 table: sin-cos plus seeded noise (the
    synthesiser skips ``pos_embed``; the tests rebuild the same one)."""
    noise = torch.randn(
        1, 196, 768, generator=torch.Generator().manual_seed(seed)
    )
    return build_2d_sincos_pos_embed(14, 768) + 0.02 * noise


def import_official(repo: str):
    """Import ``models_convmae`` and ``models_convvit`` with the shim."""
    if not hasattr(np, 'float'):
        np.float = float
    sys.path.insert(0, osp.abspath(repo))
    import models_convmae
    import models_convvit

    return models_convmae, models_convvit


def import_official_det(repo: str):
    """Import ``DET/models/convmae.py`` with detectron2 stubbed."""
    stubs = {
        'detectron2': {},
        'detectron2.layers': {'ShapeSpec': dict},
        'detectron2.modeling': {},
        'detectron2.modeling.backbone': {'Backbone': nn.Module},
        'detectron2.utils': {},
        'detectron2.utils.logger': {
            'setup_logger': lambda name=None: logging.getLogger(name)
        },
    }
    for name, attrs in stubs.items():
        module = sys.modules.setdefault(name, types.ModuleType(name))
        for key, value in attrs.items():
            setattr(module, key, value)
    path = osp.join(repo, 'DET', 'models', 'convmae.py')
    spec = importlib.util.spec_from_file_location('convmae_det', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The hard-coded sizes of the official ``ConvViT.__init__`` (DET) and
#: their toy replacements: 128 px (grids 32 / 16 / 8), 4 heads.
TINY_DET_SIZES = (
    ('img_size = [1024, 256, 128]', 'img_size = [128, 32, 16]'),
    ('embed_dim=[256, 384, 768]', 'embed_dim=[16, 24, 32]'),
    ('depth=[2, 2, 11]', 'depth=[1, 1, 11]'),
    ('num_heads=12\n', 'num_heads=4\n'),
)


def import_official_det_tiny(repo: str):
    """``DET/models/convmae.py`` with :data:`TINY_DET_SIZES` applied to
    its source text (in memory) and detectron2 stubbed."""
    det = import_official_det(repo)  # installs the stubs
    path = osp.join(repo, 'DET', 'models', 'convmae.py')
    with open(path) as f:
        source = f.read()
    for old, new in TINY_DET_SIZES:
        assert source.count(old) == 1, f'{old!r} not found once in {path}'
        source = source.replace(old, new)
    module = types.ModuleType('convmae_det_tiny')
    module.__file__ = path
    exec(compile(source, path, 'exec'), module.__dict__)
    del det
    return module


def learnable_shapes(model: nn.Module) -> dict:
    """Official key -> shape, without buffers (index tables)."""
    return {k: tuple(v.shape) for k, v in model.named_parameters()}


def reference_patch_ids(mask: torch.Tensor) -> list:
    """8 masked and 8 visible patch ids of sample 0."""
    masked = torch.nonzero(mask[0]).flatten()[:8]
    visible = torch.nonzero(~mask[0]).flatten()[:8]
    return sorted(torch.cat([masked, visible]).tolist())


def sums(x: torch.Tensor) -> dict:
    x = x.detach().double()
    return dict(sum=x.sum(), abs_sum=x.abs().sum(), sq_sum=x.pow(2).sum())


def make_pretrain(models_convmae) -> dict:
    model = models_convmae.convmae_convvit_base_patch16(norm_pix_loss=True)
    model.eval()
    shapes = learnable_shapes(model)
    weights = synthesize_weights(shapes, SEED)
    missing, _ = model.load_state_dict(weights, strict=False)
    # Only the fixed sin-cos tables keep the model's own values.
    assert set(missing) == {'pos_embed', 'decoder_pos_embed'}, missing
    fixed = {k: sums(model.state_dict()[k]) for k in sorted(missing)}
    imgs = parity_inputs(BATCH, 224, seed=SEED + 1)
    with torch.no_grad():
        torch.manual_seed(SEED + 2)  # the official noise of random_masking
        latent, _, _ = model.forward_encoder(imgs, 0.75)
        torch.manual_seed(SEED + 2)
        loss, pred, mask = model(imgs, mask_ratio=0.75)
    mask = mask.bool()
    return dict(
        seed=SEED,
        shapes=shapes,
        fixed_tables=fixed,
        img_size=224,
        norm_pix=True,
        mask=mask,
        loss=loss.double(),
        latent=sums(latent),
        pred=summarize_prediction(pred, reference_patch_ids(mask)),
    )


def make_finetune(models_convvit) -> dict:
    model = models_convvit.convvit_base_patch16(
        num_classes=NUM_CLASSES, global_pool=True, drop_path_rate=0.1
    ).eval()
    shapes = learnable_shapes(model)
    weights = synthesize_weights(shapes, SEED + 10)
    weights['pos_embed'] = finetune_pos_embed(SEED + 11)
    model.load_state_dict(weights, strict=True)
    imgs = parity_inputs(BATCH, 224, seed=SEED + 12)
    with torch.no_grad():
        logits = model(imgs)
    return dict(
        seed=SEED + 10,
        pos_embed_seed=SEED + 11,
        input_seed=SEED + 12,
        shapes=shapes,
        img_size=224,
        num_classes=NUM_CLASSES,
        logits=logits.double(),
    )


def make_det(det_module) -> dict:
    model = det_module.ConvViTDet(window_size=16).eval()
    weights = synthesize_weights(learnable_shapes(model), SEED + 20)
    # The official loader resizes the 14 x 14 pre-training table to 64 x 64.
    weights['pos_embed'] = det_module.resize_pos_embed(
        finetune_pos_embed(SEED + 21), model.pos_embed, 0, (64, 64)
    )
    model.load_state_dict(weights, strict=False)  # index buffers stay
    imgs = parity_inputs(1, 1024, seed=SEED + 22)
    images = types.SimpleNamespace(tensor=imgs)
    with torch.no_grad():
        outs = model(images)
    return dict(
        seed=SEED + 20,
        pos_embed_seed=SEED + 21,
        input_seed=SEED + 22,
        img_size=1024,
        window_size=16,
        global_attn_indexes=(0, 3, 6, 10),
        outs={
            name: dict(
                shape=tuple(out.shape),
                corner=out[0, :8, :4, :4].clone(),
                **sums(out),
            )
            for name, out in outs.items()
        },
    )


def make_det_tiny(det_module) -> dict:
    """The toy-size detector backbone (see :data:`TINY_DET_SIZES`)."""
    model = det_module.ConvViTDet(window_size=4).eval()
    shapes = learnable_shapes(model)
    assert shapes['pos_embed'] == (1, 64, 32), shapes['pos_embed']
    weights = synthesize_weights(shapes, SEED + 30)
    # A 4 x 4 "pre-training" table, resized to 8 x 8 by the official
    # loader's resize_pos_embed (bicubic), as a checkpoint would be.
    gen = torch.Generator().manual_seed(SEED + 31)
    pretrain_pos_embed = 0.1 * torch.randn(1, 16, 32, generator=gen)
    weights['pos_embed'] = det_module.resize_pos_embed(
        pretrain_pos_embed, model.pos_embed, 0, (8, 8)
    )
    missing, unexpected = model.load_state_dict(weights, strict=False)
    assert all(k.endswith('relative_position_index') for k in missing)
    assert not unexpected, unexpected
    imgs = parity_inputs(2, 128, seed=SEED + 32)
    with torch.no_grad():
        outs = model(types.SimpleNamespace(tensor=imgs))
    return dict(
        seed=SEED + 30,
        pos_embed_seed=SEED + 31,
        input_seed=SEED + 32,
        shapes=shapes,
        pretrain_pos_embed_shape=(1, 16, 32),
        img_size=128,
        arch=dict(embed_dims=(16, 24, 32), num_layers=(1, 1, 11), heads=4),
        window_size=4,
        global_attn_indexes=(0, 3, 6, 10),
        outs={
            name: dict(
                shape=tuple(out.shape),
                corner=out[:, :4, :3, :3].clone(),
                **sums(out),
            )
            for name, out in outs.items()
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--official-repo', required=True, help='a copy of Alpha-VL/ConvMAE'
    )
    parser.add_argument('--out', default='tests/data/parity')
    parser.add_argument(
        '--only',
        nargs='*',
        help='names of the references to write (default: all)',
    )
    parser.add_argument(
        '--det',
        action='store_true',
        help='also the detector backbone at 1024 px (slow on a CPU)',
    )
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    models_convmae, models_convvit = import_official(args.official_repo)
    os.makedirs(args.out, exist_ok=True)
    meta = dict(
        official_commit=OFFICIAL_COMMIT,
        timm_fused_attn=os.environ.get('TIMM_FUSED_ATTN', 'default'),
    )
    jobs = [
        ('convmae_pretrain', lambda: make_pretrain(models_convmae)),
        ('convmae_finetune', lambda: make_finetune(models_convvit)),
        (
            'convmae_det_tiny',
            lambda: make_det_tiny(
                import_official_det_tiny(args.official_repo)
            ),
        ),
    ]
    if args.det:
        det = import_official_det(args.official_repo)
        jobs.append(('convmae_det', lambda: make_det(det)))
    for name, job in jobs:
        if args.only and name not in args.only:
            continue
        ref = dict(job(), **meta)
        path = osp.join(args.out, f'{name}.pth')
        torch.save(ref, path)
        print(f'{name} -> {path} ({osp.getsize(path) / 1024:.0f} KiB)')


if __name__ == '__main__':
    main()
