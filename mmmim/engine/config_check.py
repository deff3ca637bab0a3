# Copyright (c) mmmim contributors. All rights reserved.
"""Check a training config before the runner starts.

mmengine accepts two kinds of typos silently: a misspelt top-level key
(``randomnes``) is never read, and hooks that take ``**kwargs`` (the
checkpoint hook passes them to ``save_checkpoint``) keep a misspelt
argument until the first save fails, hours later. :func:`check_config`
finds both at start-up and names the closest valid keys.
"""

import difflib
import inspect
from typing import Dict, Iterable, List, Optional, Tuple

from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS as MMENGINE_HOOKS

__all__ = ['RUNNER_KEYS', 'ConfigKeyError', 'check_config', 'check_options']

#: Top-level keys that mmengine's runners and mmmim's tools read.
RUNNER_KEYS = frozenset(
    {
        'model',
        'work_dir',
        'train_dataloader',
        'val_dataloader',
        'test_dataloader',
        'train_cfg',
        'val_cfg',
        'test_cfg',
        'auto_scale_lr',
        'optim_wrapper',
        'param_scheduler',
        'val_evaluator',
        'test_evaluator',
        'default_hooks',
        'custom_hooks',
        'data_preprocessor',
        'load_from',
        'resume',
        'launcher',
        'env_cfg',
        'log_processor',
        'log_level',
        'visualizer',
        'default_scope',
        'randomness',
        'experiment_name',
        'model_wrapper_cfg',
        'compile',
        'runner_type',
        'strategy',
        'custom_imports',
    }
)
#: Keys of every registry config besides the constructor's arguments.
REGISTRY_KEYS = frozenset({'type', '_scope_'})
#: How close a key must be to a valid one to count as its misspelling.
TYPO_CUTOFF = 0.8


class ConfigKeyError(KeyError):
    """An unknown config key; the message names the closest valid ones."""

    def __str__(self) -> str:  # KeyError would print the repr
        return str(self.args[0])


def _closest(key: str, valid: Iterable[str], n: int = 3) -> List[str]:
    return difflib.get_close_matches(key, sorted(valid), n=n, cutoff=0.5)


def _unknown(
    key: str, valid: Iterable[str], source: str = '', part: int = -1
) -> ConfigKeyError:
    """The error for ``key``, whose dotted ``part`` is not in ``valid``."""
    close = _closest(key.split('.')[part], valid)
    hint = f' Did you mean: {", ".join(close)}?' if close else ''
    return ConfigKeyError(
        f'unknown config key {key!r}{source}.{hint} Valid keys here: '
        f'{", ".join(sorted(valid))}.'
    )


def _hook_class(hook_cfg: dict, scope: str) -> Optional[type]:
    """The class a hook config builds (None if the registry has none)."""
    hook_type = hook_cfg.get('type')
    if not isinstance(hook_type, str):
        return hook_type if isinstance(hook_type, type) else None
    from mmmim.registry import HOOKS

    registry = HOOKS if scope == 'mmmim' else MMENGINE_HOOKS
    return registry.get(hook_type) or MMENGINE_HOOKS.get(hook_type)


def _named_parameters(init) -> Tuple[set, bool]:
    """Named keyword parameters of an ``__init__`` and whether it also
    takes ``**kwargs``."""
    params = inspect.signature(init).parameters
    var = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    names = {n for n, p in params.items() if n != 'self' and p.kind not in var}
    takes_any = any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )
    return names, takes_any


def _hook_arguments(cls: type) -> Optional[set]:
    """Keyword arguments a hook accepts (None: any, via ``**kwargs``)."""
    if not issubclass(cls, CheckpointHook):
        names, takes_any = _named_parameters(cls.__init__)
        return None if takes_any else names
    # CheckpointHook passes **kwargs to Runner.save_checkpoint, which
    # takes none beyond those the hook sets itself: any extra fails there.
    # Subclasses forward theirs to it: collect the names along the MRO.
    names = set()
    for klass in cls.__mro__:
        if '__init__' in vars(klass):
            names |= _named_parameters(klass.__init__)[0]
        if klass is CheckpointHook:
            break
    return names


def _check_hooks(cfg: Config) -> None:
    scope = cfg.get('default_scope') or 'mmengine'
    hooks: Dict[str, dict] = {}
    for name, hook_cfg in (cfg.get('default_hooks') or {}).items():
        if hook_cfg is not None:
            hooks[f'default_hooks.{name}'] = hook_cfg
    for index, hook_cfg in enumerate(cfg.get('custom_hooks') or []):
        hooks[f'custom_hooks[{index}]'] = hook_cfg
    for where, hook_cfg in hooks.items():
        cls = _hook_class(hook_cfg, scope)
        if cls is None:
            continue  # the runner names an unknown type itself
        valid = _hook_arguments(cls)
        if valid is None:
            continue
        for key in hook_cfg:
            if key not in valid | REGISTRY_KEYS:
                raise _unknown(f'{where}.{key}', valid | REGISTRY_KEYS)


def _strategy_arguments(cls: type) -> Optional[set]:
    """Keyword arguments a FlexibleRunner strategy accepts: its own and,
    through ``**kwargs``, those of its bases (None: any)."""
    names = set()
    for klass in cls.__mro__:
        if '__init__' not in vars(klass):
            continue
        own, takes_any = _named_parameters(klass.__init__)
        names |= own
        if not takes_any:
            return names
    return None


def _check_strategy(cfg: Config) -> None:
    # FlexibleRunner builds the strategy with every key of this dict:
    # a misspelt option fails there with a bare TypeError, or (with
    # **kwargs forwarded to mmengine's base class) after the process group
    # started on every rank.
    strategy = cfg.get('strategy')
    if not isinstance(strategy, dict) or 'runner_type' not in cfg:
        return
    from mmengine.registry import STRATEGIES

    import mmmim.registry  # noqa: F401  (the mmmim.* strategies)

    kind = strategy.get('type')
    cls = STRATEGIES.get(kind) if isinstance(kind, str) else kind
    if not isinstance(cls, type):
        close = _closest(str(kind).split('.')[-1], STRATEGIES.module_dict)
        hint = f' Did you mean: {", ".join(close)}?' if close else ''
        raise ConfigKeyError(
            f'unknown strategy type {kind!r} (strategy.type).{hint} mmmim '
            "strategies are named with their scope: 'mmmim.FSDP2Strategy'."
        )
    valid = _strategy_arguments(cls)
    if valid is None:
        return
    for key in strategy:
        if key not in valid | REGISTRY_KEYS:
            raise _unknown(f'strategy.{key}', valid | REGISTRY_KEYS)


def check_options(cfg: Config, options: Optional[dict]) -> None:
    """Every ``--cfg-options`` key must exist in the config (before the
    merge) or be a key the runner reads: anything else is never used.

    Raises:
        ConfigKeyError: Naming the option and the closest valid keys.
    """
    keys = set(cfg.keys())
    for option in options or {}:
        top = option.split('.')[0]
        if top not in RUNNER_KEYS and top not in keys:
            source = ' (from --cfg-options)'
            raise _unknown(option, RUNNER_KEYS | keys, source, part=0)


def _check_top_level(cfg: Config) -> None:
    # Helper variables are normal in a config (img_size, ...); a near-miss
    # of a runner key is a typo that the runner ignores.
    for key in set(cfg.keys()) - RUNNER_KEYS:
        close = difflib.get_close_matches(
            key, sorted(RUNNER_KEYS), n=1, cutoff=TYPO_CUTOFF
        )
        if close:
            raise ConfigKeyError(
                f'unknown config key {key!r}: did you mean {close[0]!r}? '
                'The runner never reads it.'
            )


def check_config(cfg: Config) -> None:
    """Raise on config keys that would be ignored or fail later: near-misses
    of the runner's top-level keys, unknown hook arguments and unknown
    FlexibleRunner strategy types or arguments.

    Args:
        cfg (Config): The merged config.

    Raises:
        ConfigKeyError: Naming the key and the closest valid names.
    """
    _check_top_level(cfg)
    _check_hooks(cfg)
    _check_strategy(cfg)
