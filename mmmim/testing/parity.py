# Copyright (c) mmmim contributors. All rights reserved.
"""Helpers for parity checks against official implementations.

Reference outputs of an official model are generated once (by
``tools/analysis_tools/make_*_parity_refs.py`` with the official code) and
stored small. Weights are not stored: both sides synthesise the same ones
from the official key names, shapes and a seed.
"""

from typing import Dict, Iterable, Tuple

import torch

#: Keys whose values are fixed tables computed by the model itself.
FIXED_TABLE_SUFFIXES = ('pos_embed',)


def synthesize_weights(
    shapes: Dict[str, Tuple[int, ...]], seed: int = 0
) -> Dict[str, torch.Tensor]:
    """Deterministic, well-conditioned random weights for a state dict.

    Keys are visited in sorted order, so the result depends only on the key
    names, their shapes and ``seed`` (not on dict order). Norm weights are
    around 1, biases and tokens small, matrices scaled by fan-in so that
    activations stay O(1) through deep models.

    Args:
        shapes (dict): Official key -> shape. Keys ending in ``pos_embed``
            are skipped (fixed sin-cos tables).
        seed (int): Seed of the generator. Defaults to 0.

    Returns:
        dict: Official key -> float32 tensor.
    """
    gen = torch.Generator().manual_seed(seed)
    weights = {}
    for key in sorted(shapes):
        if key.endswith(FIXED_TABLE_SUFFIXES):
            continue
        shape = tuple(shapes[key])
        noise = torch.randn(shape, generator=gen)
        if 'norm' in key and key.endswith('weight'):
            value = 1.0 + 0.1 * noise
        elif key.endswith('bias') or len(shape) <= 1 or key.endswith('_token'):
            value = 0.02 * noise
        else:
            fan_in = max(1, noise[0].numel())
            value = noise / fan_in**0.5
        weights[key] = value.float()
    return weights


def parity_inputs(
    batch_size: int, img_size: int, seed: int = 1, frames: int = 0
) -> torch.Tensor:
    """Normalised-image-like input shared by reference scripts and tests:
    ``[B, 3, H, W]`` (or ``[B, 3, T, H, W]`` when ``frames`` > 0)."""
    gen = torch.Generator().manual_seed(seed)
    shape = (
        (batch_size, 3) + ((frames,) if frames else ()) + (img_size, img_size)
    )
    return torch.randn(shape, generator=gen)


def summarize_prediction(
    pred: torch.Tensor, patch_ids: Iterable[int]
) -> Dict[str, torch.Tensor]:
    """A small, sensitive fingerprint of a prediction ``[B, L, P]``.

    Returns the rows at ``patch_ids`` (exact comparison on a subset) and the
    float64 sum and absolute sum over everything (catches any other row).
    """
    ids = torch.as_tensor(list(patch_ids), dtype=torch.long)
    pred = pred.detach().float()
    return dict(
        rows=pred[:, ids].clone(),
        patch_ids=ids,
        sum=pred.double().sum(),
        abs_sum=pred.double().abs().sum(),
    )


def official_pretrain_weights(model: torch.nn.Module, ref: dict) -> Dict:
    """The official MAE/ConvMAE pre-training checkpoint a reference was
    computed from, under the official names: weights synthesised from
    ``ref['shapes']`` and ``ref['seed']`` plus the fixed sin-cos tables.

    The synthesiser skips the tables, so they are taken from ``model``
    after checking them against the official fingerprints stored in
    ``ref['fixed_tables']`` (sum, absolute sum, squared sum).
    """
    official = synthesize_weights(ref['shapes'], ref['seed'])
    tables = dict(
        pos_embed=model.backbone.pos_embed,
        decoder_pos_embed=model.neck.decoder_pos_embed,
    )
    assert set(tables) == set(ref['fixed_tables'])
    for name, table in tables.items():
        assert tuple(table.shape) == tuple(ref['shapes'][name])
        table = table.detach().double()
        for key, value in (
            ('sum', table.sum()),
            ('abs_sum', table.abs().sum()),
            ('sq_sum', table.pow(2).sum()),
        ):
            torch.testing.assert_close(
                value, ref['fixed_tables'][name][key], rtol=1e-6, atol=1e-3
            )
        official[name] = table.float().clone()
    assert set(official) == set(ref['shapes'])
    return official
