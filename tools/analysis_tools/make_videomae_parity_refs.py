# Copyright (c) mmmim contributors. All rights reserved.
"""Generate the VideoMAE parity references from the official code.

Runs the official ``modeling_pretrain.py`` / ``modeling_finetune.py``
(MCG-NJU/VideoMAE, a local clone the user supplies) with synthesised
weights on a fixed 16-frame 224 px clip and stores, in
``tests/data/parity/videomae_{pretrain,finetune}.pth``: the official key
shapes (so that tests synthesise the same weights), the tube mask, the loss
computed exactly as ``engine_for_pretraining.py`` does (per-channel
normalised cube targets), a fingerprint of the prediction, and the
fine-tuned logits. ``tests/test_models/test_algorithms/
test_videomae_parity.py`` converts the weights with
``tools/model_converters/videomae_to_mmmim.py`` and compares.

Usage::

    python tools/analysis_tools/make_videomae_parity_refs.py \
        --official-repo DIR [--out tests/data/parity]
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

SEED = 0
BATCH = 1
FRAMES = 16
IMG_SIZE = 224
PATCH = 16
TUBELET = 2
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def import_official(repo: str):
    """Import the official modules (they need only timm and einops)."""
    sys.path.insert(0, osp.abspath(repo))
    import masking_generator
    import modeling_finetune
    import modeling_pretrain

    return modeling_pretrain, modeling_finetune, masking_generator


def official_loss(videos, outputs, bool_masked_pos):
    """``engine_for_pretraining.train_one_epoch``'s target and loss."""
    from einops import rearrange

    mean = torch.as_tensor(IMAGENET_MEAN)[None, :, None, None, None]
    std = torch.as_tensor(IMAGENET_STD)[None, :, None, None, None]
    unnorm_videos = videos * std + mean
    videos_squeeze = rearrange(
        unnorm_videos,
        'b c (t p0) (h p1) (w p2) -> b (t h w) (p0 p1 p2) c',
        p0=TUBELET,
        p1=PATCH,
        p2=PATCH,
    )
    videos_norm = (
        videos_squeeze - videos_squeeze.mean(dim=-2, keepdim=True)
    ) / (videos_squeeze.var(dim=-2, unbiased=True, keepdim=True).sqrt() + 1e-6)
    videos_patch = rearrange(videos_norm, 'b n p c -> b n (p c)')
    b, _, c = videos_patch.shape
    labels = videos_patch[bool_masked_pos].reshape(b, -1, c)
    return torch.nn.MSELoss()(input=outputs, target=labels)


def make_pretrain_reference(modeling_pretrain, masking_generator) -> dict:
    model = modeling_pretrain.pretrain_videomae_base_patch16_224(
        decoder_depth=4
    ).eval()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict(synthesize_weights(shapes, SEED), strict=True)
    videos = parity_inputs(BATCH, IMG_SIZE, seed=SEED + 1, frames=FRAMES)
    generator = masking_generator.TubeMaskingGenerator(
        (FRAMES // TUBELET, IMG_SIZE // PATCH, IMG_SIZE // PATCH), 0.9
    )
    np.random.seed(SEED + 2)
    mask = torch.from_numpy(
        np.stack([generator() for _ in range(BATCH)])
    ).bool()
    with torch.no_grad():
        outputs = model(videos, mask)
        loss = official_loss(videos, outputs, mask)
    return dict(
        shapes=shapes,
        seed=SEED,
        frames=FRAMES,
        img_size=IMG_SIZE,
        mask=mask,
        loss=loss.double(),
        pred=summarize_prediction(outputs, [0, 1, 700, 1407]),
        official_commit='14ef8d8',
    )


def make_finetune_reference(modeling_finetune) -> dict:
    model = modeling_finetune.vit_base_patch16_224(
        num_classes=400, all_frames=FRAMES, tubelet_size=TUBELET
    ).eval()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict(synthesize_weights(shapes, SEED), strict=True)
    videos = parity_inputs(BATCH, IMG_SIZE, seed=SEED + 1, frames=FRAMES)
    with torch.no_grad():
        logits = model(videos)
    return dict(
        shapes=shapes,
        seed=SEED,
        frames=FRAMES,
        img_size=IMG_SIZE,
        logits=logits.double(),
        official_commit='14ef8d8',
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--official-repo', required=True, help='a clone of MCG-NJU/VideoMAE'
    )
    parser.add_argument('--out', default='tests/data/parity')
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    pretrain, finetune, masking = import_official(args.official_repo)
    os.makedirs(args.out, exist_ok=True)
    ref = make_pretrain_reference(pretrain, masking)
    path = osp.join(args.out, 'videomae_pretrain.pth')
    torch.save(ref, path)
    print(f'pretrain: loss {ref["loss"].item():.6f} -> {path}')
    ref = make_finetune_reference(finetune)
    path = osp.join(args.out, 'videomae_finetune.pth')
    torch.save(ref, path)
    print(f'finetune: logits[:3] {ref["logits"][0, :3].tolist()} -> {path}')


if __name__ == '__main__':
    main()
