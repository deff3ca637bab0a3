# Copyright (c) mmmim contributors. All rights reserved.
"""Every change that mmmim makes to a third-party library (mmengine and
mmpretrain).

``import mmmim`` calls :func:`apply`: each patch below is applied once per
process (applying again changes nothing) and logged the first time with
its reason, the patch's docstring. ``MMMIM_NO_PATCHES`` switches them off
when mmmim is first imported: ``1`` (or ``all``) leaves mmengine as it is,
a comma list such as ``atomic_save,cpu_dist`` switches off only those
(documented in ``docs/en/faq.md``).

Why at import time: mmengine has no later hook that comes early enough.
``mmmim::`` paths are resolved while ``Config.fromfile`` reads ``_base_``,
before a config's ``custom_imports`` run, and the runner starts the process
group before it builds the first component. Every way of running an mmmim
config imports mmmim first: ``tools/train.py`` and ``tools/test.py`` (thus
``mim train``) before reading the config, ``Config.fromfile`` through the
``custom_imports`` of ``configs/_base_/default_runtime.py`` (so
``Runner.from_cfg`` on a loaded config trains the same way), and configs of
other packages through ``custom_imports`` or a ``type='mmmim.X'``.
"""

import functools
import os
import os.path as osp
from typing import Any, Callable, Dict, Tuple

import torch
from mmengine.logging import print_log

from .utils.safe_checkpoint import safe_torch_load

__all__ = ['ENV_VAR', 'PATCHES', 'apply']

ENV_VAR = 'MMMIM_NO_PATCHES'
_applied: Dict[str, bool] = {}


def _replace(owner: Any, name: str, make: Callable) -> None:
    """``owner.name = make(owner.name)``, unless mmmim replaced it already."""
    original = getattr(owner, name)
    if not getattr(original, '_mmmim_patch', False):
        new = functools.wraps(original)(make(original))
        new._mmmim_patch = True
        setattr(owner, name, new)


def _load_from_local(filename: str, map_location: Any = None) -> Any:
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_torch_load(filename, map_location=map_location)


def _load_from_http(
    url: str, map_location: Any = None, model_dir: Any = None, progress=True
) -> Any:
    from mmengine.dist import barrier, get_rank
    from torch.hub import download_url_to_file, get_dir

    model_dir = model_dir or osp.join(get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached = osp.join(model_dir, osp.basename(url))
    if get_rank() == 0 and not osp.exists(cached):
        download_url_to_file(url, cached, progress=progress)
    barrier()
    return safe_torch_load(cached, map_location=map_location)


def safe_load() -> None:
    """mmengine 0.10.7 calls torch.load without weights_only, so torch >=
    2.6 refuses mmengine's own checkpoints (--resume); its local and HTTP
    loaders use weights_only=True plus an allow-list of the types mmengine
    writes (MMMIM_TRUST_CHECKPOINTS=1 for files you trust)"""
    from mmengine.runner.checkpoint import CheckpointLoader

    register = functools.partial(CheckpointLoader.register_scheme, force=True)
    register(prefixes='', loader=_load_from_local)
    register(prefixes=['http://', 'https://'], loader=_load_from_http)


def atomic_save() -> None:
    """the local file backend writes checkpoints in place, so a crash while
    saving leaves a truncated file; it writes a temporary file and renames
    it"""
    from mmengine.fileio.backends import LocalBackend, register_backend
    from mmengine.fileio.io import backend_instances

    from .utils.atomic_io import AtomicLocalBackend

    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # Drop the plain LocalBackend instances cached before this call.
    for key, backend in list(backend_instances.items()):
        if type(backend) is LocalBackend:
            del backend_instances[key]


def config_lookup() -> None:
    """mmengine resolves pkg:: config paths for a fixed list of packages
    only; mmmim:: paths resolve too, also for editable installs"""
    from mmengine.config import config, utils
    from mmengine.hub import hub

    package_dir = osp.dirname(osp.abspath(__file__))  # holds `.mim`

    def make(original: Callable[[str], str]) -> Callable[[str], str]:
        return lambda pkg: package_dir if pkg == 'mmmim' else original(pkg)

    utils.MODULE2PACKAGE.setdefault('mmmim', 'mmmim')
    for module in (config, hub):
        _replace(module, 'get_installed_path', make)


def cpu_dist() -> None:
    """the pytorch launcher calls torch.cuda.set_device and gives DDP a GPU
    id; without GPUs the process group uses gloo and DDP gets no id"""
    from mmengine.device import get_device
    from mmengine.dist import utils as dist_utils
    from mmengine.model import MMDistributedDataParallel

    def make_init(original: Callable) -> Callable:
        def init(backend: str, init_backend: str = 'torch', **kwargs) -> None:
            if get_device() != 'cpu' or init_backend != 'torch':
                return original(backend, init_backend=init_backend, **kwargs)
            if backend != 'gloo':
                print_log(f'No GPU: gloo instead of {backend}.', 'current')
            torch.distributed.init_process_group(backend='gloo', **kwargs)

        return init

    def make_ddp(original: Callable) -> Callable:
        def __init__(self, module: torch.nn.Module, *args, **kwargs) -> None:
            if all(p.device.type == 'cpu' for p in module.parameters()):
                kwargs['device_ids'] = None  # DDP refuses ids for CPU
            original(self, module, *args, **kwargs)

        return __init__

    _replace(dist_utils, '_init_dist_pytorch', make_init)
    _replace(MMDistributedDataParallel, '__init__', make_ddp)


def mmpretrain_multimodal() -> None:
    """mmpretrain 1.2.0 imports its multimodal models (BLIP, ...) whenever
    transformers is installed, and they need helpers that transformers >=
    4.57 removed, so `import mmpretrain.models` fails; mmpretrain registers
    its placeholders for them instead (mmmim uses none of them)"""
    import sys

    from mmpretrain.utils import dependency

    if 'mmpretrain.models' in sys.modules:
        return  # imported already: too late, and nothing to fix
    dependency.WITH_MULTIMODAL = False


#: Every patch by name; its docstring is the reason that is logged.
PATCHES: Dict[str, Callable[[], None]] = {
    fn.__name__: fn
    for fn in (
        safe_load,
        atomic_save,
        config_lookup,
        cpu_dist,
        mmpretrain_multimodal,
    )
}
#: The library each patch changes, for the log line.
LIBRARY: Dict[str, str] = dict(mmpretrain_multimodal='mmpretrain')


def _switched_off() -> set:
    value = os.environ.get(ENV_VAR, '').strip().lower()
    if value in ('', '0', 'false', 'no'):
        return set()
    if value in ('1', 'true', 'yes', 'all'):
        return set(PATCHES)
    names = {name.strip() for name in value.split(',') if name.strip()}
    if names - set(PATCHES):
        raise ValueError(
            f'{ENV_VAR}={value!r} names unknown patches '
            f'{sorted(names - set(PATCHES))}; use 1 to switch off all, or '
            f'a comma list of: {", ".join(PATCHES)}.'
        )
    return names


def apply() -> Tuple[str, ...]:
    """Apply the patches that ``MMMIM_NO_PATCHES`` leaves on (idempotent).

    Returns:
        Tuple[str, ...]: The names of the patches in effect.
    """
    off = sorted(_switched_off() - set(_applied))
    if off:
        _applied.update(dict.fromkeys(off, False))
        names = ', '.join(off)
        print_log(
            f'mmmim leaves mmengine/mmpretrain unpatched ({ENV_VAR}): {names}',
            'current',
        )
    for name, patch in PATCHES.items():
        if name not in _applied:
            patch()
            _applied[name] = True
            reason = ' '.join(patch.__doc__.split())
            library = LIBRARY.get(name, 'mmengine')
            print_log(
                f'mmmim patches {library} [{name}]: {reason}. Switch off: '
                f'{ENV_VAR}={name}',
                'current',
            )
    return tuple(name for name, on in _applied.items() if on)
