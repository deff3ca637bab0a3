# Copyright (c) mmmim contributors. All rights reserved.
"""Tell a damaged checkpoint file from one that is refused as untrusted.

``torch.load`` fails on a truncated, empty or foreign file with errors of
every kind (``EOFError``, ``RuntimeError`` from the zip reader, a
``KeyError``, or the same ``UnpicklingError`` that the ``weights_only``
check raises for pickled code). :func:`find_damage` looks at the file's
structure instead of the error, so a damaged file is reported as damaged
(its fix: another copy or an earlier checkpoint), never as untrusted
(trusting it would not help: it still cannot be read).
"""

import os
import os.path as osp
import pickletools
import re
import struct
import zipfile
from typing import List, Optional, Tuple

__all__ = ['CorruptCheckpointError', 'find_damage', 'previous_checkpoint']

_ZIP_MAGIC = b'PK\x03\x04'
_PICKLE_PROTO = 0x80  # the first byte of every pickle of protocol >= 2


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file that is damaged: empty, truncated or not a
    checkpoint at all."""


def _zip_damage(path: str) -> Optional[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()  # CRC of every member
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        return f'its zip archive is incomplete ({error}): it is truncated'
    if bad is not None:
        return f'the member {bad!r} of its zip archive fails its checksum'
    return None


def _pickle_damage(path: str) -> Optional[str]:
    """A legacy (non-zip) ``torch.save`` file starts with a pickle of
    torch's magic number; a truncated first pickle or another number
    means damage."""
    from torch.serialization import MAGIC_NUMBER

    values = []
    with open(path, 'rb') as f:
        try:
            for _opcode, arg, _pos in pickletools.genops(f):
                values.append(arg)
        except (ValueError, EOFError) as error:
            return f'its pickle data ends early ({error}): it is truncated'
    if MAGIC_NUMBER not in values:
        return 'it is a pickle, but not one that torch.save writes'
    return None


def find_damage(path: str, error: BaseException) -> Optional[str]:
    """Why a checkpoint file that failed to load is damaged, if it is.

    Args:
        path (str): The file.
        error (BaseException): What ``torch.load`` raised for it.

    Returns:
        str | None: The damage in words, or None if the file is
        structurally sound (the error then has another cause, such as
        pickled objects outside the allow-list).
    """
    size = os.path.getsize(path)
    if size == 0:
        return 'it is empty (0 bytes)'
    with open(path, 'rb') as f:
        head = f.read(8)
    if head.startswith(_ZIP_MAGIC):
        return _zip_damage(path)
    if head[0] != _PICKLE_PROTO:
        return (
            'it is neither a zip archive (what torch.save writes) nor a '
            f'pickle: it starts with {head!r}'
        )
    damage = _pickle_damage(path)
    ends_early = isinstance(error, (EOFError, struct.error)) or any(
        word in str(error) for word in ('EOF', 'truncated')
    )
    if damage is None and ends_early:
        # The later pickles and the raw tensor bytes of a legacy file.
        damage = f'its data ends early ({error}): it is truncated'
    return damage


def previous_checkpoint(path: str) -> Optional[str]:
    """The last sound checkpoint saved before ``path`` in its folder.

    ``iter_8.pth`` -> the highest ``iter_N.pth`` with ``N < 8``; a file
    without a number -> the newest older file of the same extension.
    """
    folder, name = osp.split(osp.abspath(path))
    stem, ext = osp.splitext(name)
    try:
        others = [
            f
            for f in os.listdir(folder)
            if f != name
            and f.endswith(ext)
            and not f.startswith('.')
            and osp.isfile(osp.join(folder, f))
        ]
    except OSError:
        return None
    match = re.fullmatch(r'(.*?)(\d+)', stem)
    if match:
        prefix, number = match.group(1), int(match.group(2))
        pattern = re.compile(re.escape(prefix) + r'(\d+)' + re.escape(ext))
        earlier = [
            (int(m.group(1)), f)
            for f in others
            if (m := pattern.fullmatch(f)) and int(m.group(1)) < number
        ]
        return _first_sound(folder, path, sorted(earlier, reverse=True))
    mtime = osp.getmtime(path)
    older = [
        (osp.getmtime(osp.join(folder, f)), f)
        for f in others
        if osp.getmtime(osp.join(folder, f)) < mtime
    ]
    return _first_sound(folder, path, sorted(older, reverse=True))


def _first_sound(
    folder: str, path: str, candidates: List[Tuple[float, str]]
) -> Optional[str]:
    """The first candidate ``(key, name)`` that is not damaged itself."""
    for _, name in candidates:
        if find_damage(osp.join(folder, name), Exception()) is None:
            return osp.join(osp.dirname(path), name)
    return None
