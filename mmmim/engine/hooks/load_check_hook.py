# Copyright (c) mmmim contributors. All rights reserved.
"""Stop a run whose ``load_from`` or resumed checkpoint does not fit.

mmengine loads ``load_from`` with ``strict=False`` and logs the keys it
skipped: a checkpoint of another method, an unconverted official file or
another size then trains from random weights and exits 0. This hook looks
at the checkpoint before its weights are copied and raises when it fills
less of the model than asked.
"""

import re
from typing import Dict, List

import torch
from mmengine.hooks import Hook

from mmmim.registry import HOOKS

__all__ = ['LoadCheckHook']


def _likely_cause(state_dict: Dict, own: Dict, fits: set) -> str:
    keys = list(state_dict)
    if keys and not any(k.startswith(('backbone.', 'neck.')) for k in keys):
        return (
            'it has no backbone.* keys: an official checkpoint not '
            'converted? Convert it with tools/model_converters/'
            '<method>_to_mmmim.py (or load it with mmmim.apis.init_model).'
        )
    # Mostly foreign names: another method (a ConvMAE file into MAE shares
    # a few names such as backbone.norm.*).
    theirs = [k for k in keys if k.startswith('backbone.')]
    if len([k for k in theirs if k in own]) < len(theirs) / 2:
        return 'its keys name other modules: a checkpoint of another method?'
    same_name = [k for k in own if k in state_dict]
    if len(same_name) > len(fits):
        return (
            f'{len(same_name) - len(fits)} tensors have the right name but '
            'another shape: a model of another size (arch, patch size, '
            'image size)?'
        )
    return 'its keys name other modules: a checkpoint of another method?'


@HOOKS.register_module()
class LoadCheckHook(Hook):
    """Require ``load_from`` to fill the backbone and ``--resume`` the model.

    A tensor counts as loaded when the checkpoint has it under the same
    name with the same shape.

    Args:
        min_backbone_fraction (float): The least fraction of the backbone's
            tensors that ``load_from`` must fill (1.0: all of them; the
            whole model when it has no backbone). Set it lower (0 accepts
            anything) to load a part on purpose. Defaults to 1.0.
    """

    priority = 'VERY_HIGH'

    def __init__(self, min_backbone_fraction: float = 1.0) -> None:
        if not 0.0 <= min_backbone_fraction <= 1.0:
            raise ValueError(
                'min_backbone_fraction must be in [0, 1], got '
                f'{min_backbone_fraction}'
            )
        self.min_backbone_fraction = min_backbone_fraction

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state_dict = checkpoint
        for key in ('state_dict', 'model', 'module'):  # official: 'model'
            if isinstance(checkpoint.get(key), dict):
                state_dict = checkpoint[key]
                break
        state_dict = {
            re.sub(r'^module\.', '', k): v
            for k, v in state_dict.items()
            if isinstance(v, torch.Tensor)
        }
        model = getattr(runner.model, 'module', runner.model)
        own = model.state_dict()
        fits = {
            k
            for k, v in own.items()
            if k in state_dict and state_dict[k].shape == v.shape
        }
        resuming = bool(getattr(runner, '_resume', False))
        if resuming:
            required: List[str] = list(own)
            needed, what = 1.0, 'the model'
        else:
            required = [k for k in own if k.startswith('backbone.')]
            required = required or list(own)
            needed, what = self.min_backbone_fraction, 'the backbone'
        loaded = [k for k in required if k in fits]
        if len(loaded) >= needed * len(required):
            return
        missing = [k for k in required if k not in fits]
        shown = ', '.join(missing[:6]) + (' ...' if len(missing) > 6 else '')
        source = runner._load_from if not resuming else 'the checkpoint'
        option = (
            'Resume from a checkpoint of this run'
            if resuming
            else 'To load a part on purpose, set '
            'default_hooks.load_check.min_backbone_fraction (0 accepts '
            'any checkpoint)'
        )
        raise ValueError(
            f'{source} fills {len(loaded)} of the {len(required)} tensors '
            f'of {what} (missing or another shape: {shown}); '
            f'{_likely_cause(state_dict, own, fits)} {option}.'
        )
