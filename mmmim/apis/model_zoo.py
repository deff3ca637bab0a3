# Copyright (c) mmmim contributors. All rights reserved.
"""Models by name (the metafiles of the zoo) or config, built and loaded.

``list_models`` reads ``model-index.yml`` and the metafiles it imports
(shipped in ``mmmim/.mim``); ``get_model`` builds a model by its zoo name
or a config and fills it from a checkpoint in any format that
:func:`~mmmim.apis.checkpoint.load_model_checkpoint` knows.
"""

import contextlib
import difflib
import fnmatch
import functools
import logging
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.fileio import load
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from .checkpoint import load_model_checkpoint

__all__ = ['MIM_ROOT', 'get_model', 'init_model', 'list_models', 'model_info']

#: Where the installed package keeps configs and metafiles.
MIM_ROOT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim')


@functools.cache
def _zoo() -> Dict[str, dict]:
    """Every metafile model by name (read once)."""
    index_file = osp.join(MIM_ROOT, 'model-index.yml')
    if not osp.isfile(index_file):
        raise FileNotFoundError(
            f'{index_file} is missing: reinstall mmmim (`make install` or '
            '`pip install -e .`), which links the configs into mmmim/.mim'
        )
    models = {}
    for metafile in load(index_file)['Import']:
        for model in load(osp.join(MIM_ROOT, metafile)).get('Models', []):
            models[model['Name']] = model
    return models


def list_models(pattern: Optional[str] = None) -> List[str]:
    """Names of the models in the zoo.

    Args:
        pattern (str, optional): A shell-style pattern (``fnmatch``), e.g.
            ``'mae_vit-base*'``; a pattern without ``*`` or ``?`` matches
            names that contain it. Defaults to None (all).

    Returns:
        List[str]: Sorted names.
    """
    names = sorted(_zoo())
    if pattern is None:
        return names
    if not any(c in pattern for c in '*?['):
        pattern = f'*{pattern}*'
    return [name for name in names if fnmatch.fnmatch(name, pattern)]


def model_info(name: str) -> dict:
    """The metafile entry of a zoo model.

    Raises:
        ValueError: For an unknown name, with the closest names.
    """
    zoo = _zoo()
    if name not in zoo:
        close = difflib.get_close_matches(name, list(zoo), n=5, cutoff=0.5)
        hint = f' Did you mean: {", ".join(close)}?' if close else ''
        raise ValueError(
            f'no model named {name!r} in the mmmim zoo.{hint} '
            'See mmmim.apis.list_models().'
        )
    return zoo[name]


@contextlib.contextmanager
def _quiet_logger() -> Iterator[None]:
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _resolve_config(name_or_config: Union[str, Config]) -> Config:
    if isinstance(name_or_config, Config):
        return name_or_config
    if isinstance(name_or_config, str) and name_or_config.endswith('.py'):
        if not osp.isfile(name_or_config):
            raise FileNotFoundError(f'config {name_or_config!r} not found')
        return Config.fromfile(name_or_config)
    info = model_info(name_or_config)
    return Config.fromfile(osp.join(MIM_ROOT, info['Config']))


def init_model(
    config: Union[str, Config],
    checkpoint: Optional[str] = None,
    device: str = 'cpu',
    cfg_options: Optional[dict] = None,
    trust: bool = False,
) -> nn.Module:
    """Build the model of a config and load a checkpoint, in eval mode.

    Args:
        config (str | Config): A config file, a loaded config, or a zoo
            name.
        checkpoint (str, optional): An mmmim checkpoint or an official
            MAE / SimMIM / ConvMAE / VideoMAE one (converted in memory).
            Defaults to None (the config's initialisation).
        device (str): Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides, e.g.
            ``{'model.backbone.img_size': 448}``. Defaults to None.
        trust (bool): Allow full unpickling of the checkpoint (only for
            files you trust). Defaults to False.

    Returns:
        nn.Module: The model; ``model.cfg`` is the config and
        ``model.checkpoint_report`` the load report (or None).
    """
    import mmmim.models  # noqa: F401  (registers the components)
    from mmmim.registry import MODELS

    cfg = _resolve_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmmim'))
    model_cfg = cfg.model.copy()
    if checkpoint is not None:
        # The checkpoint replaces whatever the config would load.
        model_cfg.get('backbone', {}).pop('init_cfg', None)
    model = MODELS.build(model_cfg)
    with _quiet_logger():  # mmengine logs every initialised tensor
        model.init_weights()
    report = None
    if checkpoint is not None:
        report = load_model_checkpoint(model, checkpoint, trust=trust)
    model.cfg = cfg
    model.checkpoint_report = report
    return model.to(device).eval()


def get_model(
    name_or_config: Union[str, Config],
    pretrained: Optional[Union[str, bool]] = None,
    device: str = 'cpu',
    **cfg_options,
) -> nn.Module:
    """A zoo model (or a config's) by name, optionally with weights.

    Example::

        >>> from mmmim.apis import get_model
        >>> model = get_model('mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k',
        ...                   pretrained='mae_pretrain_vit_base.pth')

    Args:
        name_or_config (str | Config): A name of :func:`list_models`, a
            config file or a loaded config.
        pretrained (str | bool, optional): A checkpoint file (mmmim or
            official format), or True for the official weights the zoo
            entry was converted from (downloaded once by mmengine).
            Defaults to None (no weights).
        device (str): Defaults to 'cpu'.
        **cfg_options: Config overrides with dotted keys as keyword
            arguments, e.g. ``**{'model.backbone.img_size': 448}``.

    Returns:
        nn.Module: The model in eval mode.
    """
    if pretrained is True:
        if not isinstance(name_or_config, str) or name_or_config.endswith(
            '.py'
        ):
            raise ValueError(
                'pretrained=True needs a zoo name; pass a checkpoint file '
                'for a config'
            )
        pretrained = _official_weights(name_or_config)
    return init_model(
        name_or_config,
        pretrained or None,
        device=device,
        cfg_options=cfg_options or None,
    )


def _official_weights(name: str) -> str:
    """Download (once) the official file a zoo entry was converted from."""
    from torch.hub import download_url_to_file, get_dir

    url = (model_info(name).get('Converted From') or {}).get('Weights')
    if not url:
        raise ValueError(
            f'{name} has no published weights in its metafile; pass a '
            'checkpoint file as pretrained='
        )
    cached = osp.join(get_dir(), 'checkpoints', osp.basename(url))
    if not osp.isfile(cached):
        os.makedirs(osp.dirname(cached), exist_ok=True)
        download_url_to_file(url, cached)
    return cached
