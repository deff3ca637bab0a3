# Copyright (c) mmmim contributors. All rights reserved.
"""Checkpoint loading that keeps ``torch.load``'s ``weights_only`` safety.

Since torch 2.6 ``torch.load`` refuses pickled objects other than tensors
and plain containers. mmengine 0.10.7 checkpoints also hold its
``HistoryBuffer`` (NumPy arrays inside) in the message hub, so ``--resume``
fails with an ``UnpicklingError``. Instead of switching the check off
globally, mmmim allow-lists exactly the types that mmengine writes, and
:mod:`mmmim.patches` routes mmengine's local and HTTP checkpoint loaders
through :func:`safe_torch_load`. A file carrying any other pickled object
is refused with a message; users opt in per process for files they trust
with ``MMMIM_TRUST_CHECKPOINTS=1``. A damaged file (empty, truncated, not a
checkpoint) is reported as damaged instead (:mod:`.checkpoint_damage`):
trusting it would not make it readable.
"""

import io
import os
import pickle
from typing import Any, List, Union

import numpy as np
import torch

from .checkpoint_damage import (
    CorruptCheckpointError,
    find_damage,
    previous_checkpoint,
)

TRUST_ENV_VAR = 'MMMIM_TRUST_CHECKPOINTS'
BUILTIN_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def _numpy_globals() -> List[Any]:
    """NumPy objects that appear when arrays or scalars are pickled."""
    try:  # NumPy >= 2 moved the private module.
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    names = 'bool int8 int16 int32 int64 uint8 float16 float32 float64'
    dtype_classes = [type(np.dtype(name)) for name in names.split()]
    return [_reconstruct, scalar, np.ndarray, np.dtype, *dtype_classes]


def _history_buffer_getattr(owner: Any, name: str) -> Any:
    """A ``getattr`` restricted to ``HistoryBuffer``'s statistics methods.

    ``HistoryBuffer.__getstate__`` pickles its class-level statistics methods
    as ``getattr(HistoryBuffer, 'mean')``. Allowing the builtin ``getattr``
    would let a file reach any attribute, so the unpickler gets this stand-in
    under the name ``builtins.getattr`` instead.
    """
    from mmengine.logging import HistoryBuffer

    # The built-in statistics are registered lazily (on the first
    # instance), so they are allowed by name as well.
    allowed = BUILTIN_STATISTICS | set(HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and name in allowed:
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint.'
    )


def checkpoint_safe_globals() -> List[Any]:
    """Return the allow-list of non-tensor types in mmengine checkpoints."""
    from mmengine.logging import HistoryBuffer

    return [
        HistoryBuffer,
        (_history_buffer_getattr, 'builtins.getattr'),
        *_numpy_globals(),
    ]


def _trusted_by_env() -> bool:
    return os.environ.get(TRUST_ENV_VAR, '0').lower() in ('1', 'true', 'yes')


def _refusal(source: str, error: Exception) -> pickle.UnpicklingError:
    return pickle.UnpicklingError(
        f'Refused to load checkpoint {source!r}: it contains pickled '
        f'objects outside the allow-list of safe types ({error}). '
        'Checkpoints written by mmmim/mmengine and tensor-only files load '
        'safely; official checkpoints should go through '
        'tools/model_converters/*_to_mmmim.py. If you trust this file, '
        f'set {TRUST_ENV_VAR}=1 to load it with full unpickling '
        '(this can execute arbitrary code).'
    )


def _damaged(path: str, damage: str) -> CorruptCheckpointError:
    message = (
        f'Checkpoint {path!r} is damaged: {damage}. It cannot be loaded '
        '(a killed run, a full disk or an interrupted copy or download '
        'cuts files short; or it is another kind of file).'
    )
    previous = previous_checkpoint(path)
    if previous is not None:
        message += (
            f' Use the previous checkpoint of the same folder instead: '
            f'{previous} (e.g. --resume {previous}), or copy the file again.'
        )
    else:
        message += ' Copy or download the file again.'
    return CorruptCheckpointError(message)


def safe_torch_load(
    file: Union[str, io.IOBase],
    map_location: Any = 'cpu',
    trusted: bool = False,
    mmap: bool = False,
) -> Any:
    """Load a checkpoint with ``weights_only=True`` plus the allow-list.

    Args:
        file (str | file-like): Path or open binary file.
        map_location: Passed to :func:`torch.load`. Defaults to 'cpu'.
        trusted (bool): Load with full unpickling, for files the caller
            trusts. Also enabled by ``MMMIM_TRUST_CHECKPOINTS=1``.
        mmap (bool): Memory-map the tensors instead of reading them (zip
            files only), for callers that need the metadata. Defaults to
            False.

    Returns:
        The unpickled checkpoint.

    Raises:
        CorruptCheckpointError: If the file (a path) is empty, truncated
            or not a checkpoint at all.
        pickle.UnpicklingError: If the file holds objects outside the
            allow-list and it is not trusted.
    """
    trusted = trusted or _trusted_by_env()
    try:
        if trusted:
            return torch.load(
                file, map_location=map_location, weights_only=False, mmap=mmap
            )
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(
                file, map_location=map_location, weights_only=True, mmap=mmap
            )
    except Exception as error:
        # Damage first: a truncated file can fail with the same
        # UnpicklingError as pickled code, and trusting it won't help.
        if isinstance(file, (str, os.PathLike)) and os.path.isfile(file):
            damage = find_damage(str(file), error)
            if damage is not None:
                raise _damaged(str(file), damage) from error
        if isinstance(error, pickle.UnpicklingError) and not trusted:
            raise _refusal(str(getattr(file, 'name', file)), error) from None
        raise
