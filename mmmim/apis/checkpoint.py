# Copyright (c) mmmim contributors. All rights reserved.
"""Load an mmmim checkpoint or an official one into a built model.

The format is told from the keys: mmmim checkpoints hold ``backbone.*``
(and ``neck.*``, ``head.*``) weights; official MAE, SimMIM, ConvMAE and
VideoMAE files hold the original repositories' names and are converted in
memory by :mod:`mmmim.utils.converters`. Which converter applies follows
from the model (its backbone type), so an official file of another method
is named as such instead of loading half of its tensors.
"""

import os.path as osp
from typing import Dict, List

import torch
import torch.nn as nn
from mmengine.logging import print_log

from mmmim.models.backbones import (
    ConvMAEViT,
    ConvViT,
    MAEViT,
    SimMIMSwin,
    SimMIMViT,
    VideoMAEViT,
    WindowedViT,
)
from mmmim.utils.converter_utils import (
    load_official_checkpoint,
    unwrap_state_dict,
)
from mmmim.utils.converters import CONVERTERS

from .features import get_backbone

__all__ = [
    'MMMIM_PREFIXES',
    'detect_format',
    'load_model_checkpoint',
    'model_method',
]

#: Top-level module names of mmmim models (algorithms and classifiers).
MMMIM_PREFIXES = ('backbone.', 'neck.', 'head.', 'data_preprocessor.')

#: Keys that every official format of the four methods starts with some of.
OFFICIAL_PREFIXES = (
    'patch_embed',
    'encoder.',
    'blocks',
    'layers.',
    'cls_token',
    'decoder_',
)

_BACKBONE_METHODS = (
    (ConvMAEViT, 'convmae'),
    (ConvViT, 'convmae'),
    (VideoMAEViT, 'videomae'),
    (SimMIMViT, 'simmim'),
    (SimMIMSwin, 'simmim'),
    (MAEViT, 'mae'),
    (WindowedViT, 'mae'),
)


def model_method(model: nn.Module) -> str:
    """The method whose official checkpoints fit ``model``.

    Args:
        model (nn.Module): An mmmim algorithm, classifier or backbone.

    Returns:
        str: A key of :data:`~mmmim.utils.converters.CONVERTERS`.
    """
    backbone = get_backbone(model)
    for cls, method in _BACKBONE_METHODS:
        if isinstance(backbone, cls):
            return method
    raise TypeError(
        f'{type(backbone).__name__} is not an mmmim backbone; official '
        f'checkpoints can be converted for {sorted(CONVERTERS)} models only'
    )


def detect_format(state_dict: Dict[str, torch.Tensor]) -> str:
    """``'mmmim'``, ``'official'`` or ``'unknown'``, from the keys.

    Which official method a file comes from is decided by the converter of
    the model's method (:func:`model_method`), which names the other
    methods' files it recognises.

    Args:
        state_dict (dict): Flat weights.

    Returns:
        str: The format.
    """
    keys = list(state_dict)
    if keys and all(k.startswith(MMMIM_PREFIXES) for k in keys):
        return 'mmmim'
    if any(k.startswith(OFFICIAL_PREFIXES) for k in keys):
        return 'official'
    return 'unknown'


def _read_state_dict(checkpoint: str, trust: bool) -> Dict:
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist')
    return load_official_checkpoint(checkpoint, trust=trust)


def _describe(keys: List[str]) -> str:
    shown = ', '.join(sorted(keys)[:6])
    return f'{len(keys)} keys ({shown}{" ..." if len(keys) > 6 else ""})'


def load_model_checkpoint(
    model: nn.Module,
    checkpoint: str,
    trust: bool = False,
    strict: bool = False,
) -> Dict[str, object]:
    """Fill ``model`` from an mmmim or official checkpoint file.

    The backbone must be loaded completely; a missing decoder or head is
    allowed (e.g. the official encoder-only MAE file) and reported in the
    log and the returned report.

    Args:
        model (nn.Module): A built mmmim model.
        checkpoint (str): The file.
        trust (bool): Allow full unpickling (only for trusted files).
            Defaults to False.
        strict (bool): Require every tensor of the model. Defaults to
            False.

    Returns:
        dict: ``format`` (``'mmmim'`` or the official method), ``loaded``,
        ``missing`` and ``unexpected`` key lists.

    Raises:
        ValueError: A file in no known format, an official file of another
            method, or a backbone that is not fully loaded.
        RuntimeError: Shapes that do not fit (another size).
    """
    state_dict = _read_state_dict(checkpoint, trust)
    fmt = detect_format(state_dict)
    name = type(model).__name__
    if fmt == 'unknown':
        raise ValueError(
            f'{checkpoint} is in no known format: found '
            f'{_describe(list(state_dict))}. Expected an mmmim checkpoint '
            f'(keys {", ".join(p + "*" for p in MMMIM_PREFIXES[:3])}) or '
            'an official MAE, SimMIM, ConvMAE or VideoMAE checkpoint.'
        )
    if fmt == 'official':
        fmt = model_method(model)
        try:
            state_dict = CONVERTERS[fmt].convert(
                unwrap_state_dict(state_dict), checkpoint
            )[0]
        except (KeyError, ValueError) as error:
            raise ValueError(
                f'{checkpoint} is not an official {fmt} checkpoint that '
                f'fits this {name}: {error}'
            ) from error
    try:
        result = model.load_state_dict(state_dict, strict=False)
    except RuntimeError as error:
        raise RuntimeError(
            f'{checkpoint} ({fmt}) does not fit this {name}: another arch, '
            f'patch size or image size?\n{error}'
        ) from error
    missing = sorted(result.missing_keys)
    unexpected = sorted(result.unexpected_keys)
    report = dict(
        format=fmt,
        loaded=sorted(set(state_dict) - set(unexpected)),
        missing=missing,
        unexpected=unexpected,
    )
    _check_report(report, checkpoint, name, strict)
    return report


def _check_report(
    report: Dict, checkpoint: str, name: str, strict: bool
) -> None:
    missing, unexpected = report['missing'], report['unexpected']
    backbone_missing = [k for k in missing if k.startswith('backbone.')]
    if unexpected or backbone_missing or (strict and missing):
        problems = []
        if backbone_missing:
            problems.append(
                f'the backbone misses {_describe(backbone_missing)}'
            )
        if unexpected:
            problems.append(f'unused: {_describe(unexpected)}')
        if strict and missing and not backbone_missing:
            problems.append(f'missing: {_describe(missing)}')
        raise ValueError(
            f'{checkpoint} is not a checkpoint of this {name}: '
            + '; '.join(problems)
            + '. Wrong method or size, or a checkpoint of another model?'
        )
    if missing:
        parts = sorted({k.split('.')[0] for k in missing})
        print_log(
            f'{checkpoint} has no weights for {_describe(missing)} '
            f'(parts: {", ".join(parts)}); they keep their initial values. '
            'Reconstructions need the decoder: use a checkpoint with it.',
            'current',
            level=30,
        )
