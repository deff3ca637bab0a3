# Copyright (c) mmmim contributors. All rights reserved.
"""What the timm and Hugging Face exporters share: fused/split attention
projections, the parts of a built mmmim model, reading and atomically
writing flat weight files."""

import json
import os
import os.path as osp
import re
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..converter_utils import check_output_path, load_official_checkpoint

__all__ = [
    'ExportError',
    'split_fused',
    'merge_fused',
    'model_parts',
    'model_state_dict',
    'load_weights_file',
    'save_weights_file',
    'build_model_from_config',
    'check_strict_load',
    'block_rules',
    'read_hf_folder',
    'check_paths',
    'load_mmmim_model',
]

StateDict = Dict[str, torch.Tensor]


class ExportError(ValueError):
    """A model (or a part of it) that the target library cannot hold."""


def split_fused(
    state_dict: StateDict, fused: str, parts: Sequence[str]
) -> StateDict:
    """Split every ``*{fused}*`` tensor into equal chunks along dim 0.

    mmmim (timm blocks) keeps q, k and v in one ``qkv`` Linear ``[3 D, D]``;
    Hugging Face models keep three ``[D, D]`` Linears.

    Args:
        state_dict (dict): Weights whose keys hold ``fused`` (e.g.
            ``'.attention.qkv.'``) for the fused tensors.
        fused (str): The marker of a fused key.
        parts (Sequence[str]): The markers of the chunks, in order.

    Returns:
        dict: The weights with each fused tensor replaced by its chunks.
    """
    out = {}
    for key, value in state_dict.items():
        if fused not in key:
            out[key] = value
            continue
        chunks = value.chunk(len(parts), dim=0)
        for part, chunk in zip(parts, chunks):
            out[key.replace(fused, part)] = chunk.clone()
    return out


def merge_fused(
    state_dict: StateDict, fused: str, parts: Sequence[str]
) -> StateDict:
    """The inverse of :func:`split_fused`: concatenate the chunk tensors.

    A key of the first part without all its siblings is an error (an
    incomplete checkpoint), named in the message.
    """
    out = {}
    for key, value in state_dict.items():
        if parts[0] in key:
            siblings = [key.replace(parts[0], part) for part in parts]
            missing = [k for k in siblings if k not in state_dict]
            if missing:
                raise KeyError(
                    f'{key} has no matching {missing}; the checkpoint is '
                    'incomplete'
                )
            out[key.replace(parts[0], fused)] = torch.cat(
                [state_dict[k] for k in siblings], dim=0
            )
        elif not any(part in key for part in parts[1:]):
            out[key] = value
    return out


def model_parts(
    model: nn.Module,
) -> Tuple[nn.Module, Optional[nn.Module], Optional[nn.Module]]:
    """``(backbone, neck, head)`` of an algorithm or classifier; a bare
    backbone gives ``(model, None, None)``."""
    if isinstance(getattr(model, 'backbone', None), nn.Module):
        return (
            model.backbone,
            getattr(model, 'neck', None),
            getattr(model, 'head', None),
        )
    return model, None, None


def model_state_dict(model: nn.Module) -> StateDict:
    """The weights of ``model`` with mmmim's ``backbone.`` prefix (added for
    a bare backbone), without data-preprocessor buffers."""
    state = model.state_dict()
    if not isinstance(getattr(model, 'backbone', None), nn.Module):
        state = {f'backbone.{k}': v for k, v in state.items()}
    return {
        k: v for k, v in state.items() if not k.startswith('data_preprocessor')
    }


def load_weights_file(path: str, trust: bool = False) -> StateDict:
    """Flat weights of a ``.safetensors`` file or a torch checkpoint
    (optionally wrapped under ``model``/``module``/``state_dict``)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'weights file {path!r} does not exist.')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file

        return load_file(path)
    return load_official_checkpoint(path, trust=trust)


def save_weights_file(state_dict: StateDict, dst: str) -> None:
    """Write flat weights atomically (a temporary file, then a rename):
    safetensors for a ``.safetensors`` name, ``torch.save`` otherwise."""
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = dst + '.partial'
    if dst.endswith('.safetensors'):
        from safetensors.torch import save_file

        state = {k: v.contiguous() for k, v in state_dict.items()}
        save_file(state, tmp, metadata={'format': 'pt'})
    else:
        torch.save(state_dict, tmp)
    os.replace(tmp, dst)


def build_model_from_config(config: str) -> nn.Module:
    """Build ``model`` of an mmmim config file in its scope, in eval mode,
    with random weights."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope

    from ..setup_env import register_all_modules

    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    model.eval()  # mmpretrain's Swin.train() returns None: no chaining
    return model


def check_strict_load(
    model: nn.Module, state_dict: StateDict, what: str
) -> None:
    """``model.load_state_dict(state_dict, strict=True)`` with an error
    that names the missing and unexpected keys and what to check."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    if missing or unexpected:
        raise KeyError(
            f'{what} does not fit the model: missing {missing[:8]}'
            f'{" ..." if len(missing) > 8 else ""}, unexpected '
            f'{unexpected[:8]}{" ..." if len(unexpected) > 8 else ""}. '
            'Check that the config matches the checkpoint (same method, '
            'pre-training vs fine-tuning, architecture).'
        )
    model.load_state_dict(state_dict, strict=True)


def block_rules(
    places: Sequence[Tuple[str, str]], pairs: Sequence[Tuple[str, str]]
) -> list:
    """Rules ``place + name -> new_place + new_name`` for every block place
    (a pattern and its replacement) and every parameter ``(name,
    new_name)`` inside a block."""
    return [
        (src + re.escape(old), dst + new)
        for src, dst in places
        for old, new in pairs
    ]


def read_hf_folder(src: str) -> Tuple[StateDict, dict]:
    """In-memory weights and ``config.json`` of a ``save_pretrained``
    folder, or the weights of a file (with an empty config).

    A folder is loaded with ``from_pretrained`` of the class its config
    names (local files only): transformers >= 5 writes some models with
    their legacy key names and maps them back on load, so only the loaded
    model has the layout the rules expect. A bare file must hold
    ``model.state_dict()`` as is.
    """
    if not osp.isdir(src):
        return load_weights_file(src), {}
    config_file = osp.join(src, 'config.json')
    if not osp.isfile(config_file):
        raise FileNotFoundError(
            f'{src!r} has no config.json: is it a save_pretrained folder?'
        )
    with open(config_file) as f:
        config = json.load(f)
    import transformers

    names = config.get('architectures') or []
    cls = getattr(transformers, names[0], None) if names else None
    if cls is None:
        raise ValueError(
            f'{config_file} names no known model class ({names}); expected '
            'ViTMAEForPreTraining, VideoMAEForPreTraining or '
            'VideoMAEForVideoClassification.'
        )
    model = cls.from_pretrained(src, local_files_only=True)
    return dict(model.state_dict()), config


def check_paths(src: str, dst: str, dst_is_dir: bool = False) -> None:
    """Refuse to write the output over the input (and, for an output file,
    a folder in its place: :func:`check_output_path`)."""
    if not dst_is_dir:
        try:
            check_output_path(src, dst)
        except ValueError as error:
            raise SystemExit(f'error: {error}') from None
    same = osp.abspath(src) == osp.abspath(dst) or (
        osp.exists(dst) and osp.exists(src) and osp.samefile(src, dst)
    )
    if same:
        raise SystemExit(
            f'error: the output {dst!r} is the input: give another path.'
        )


def load_mmmim_model(
    config: str, checkpoint: str, trust: bool = False
) -> nn.Module:
    """Build the model of ``config`` and load ``checkpoint`` (an mmmim
    checkpoint, e.g. from training or a converter) strictly into it."""
    model = build_model_from_config(config)
    state = load_weights_file(checkpoint, trust=trust)
    check_strict_load(model, state, f'checkpoint {checkpoint!r}')
    return model
