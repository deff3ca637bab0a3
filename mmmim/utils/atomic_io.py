# Copyright (c) mmmim contributors. All rights reserved.
"""Atomic local file writes for mmengine's file backend."""

import contextlib
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator, Union

from mmengine.fileio.backends import LocalBackend

#: Temporary files end with this; one left behind was cut by a kill.
PARTIAL_SUFFIX = '.partial'


def _umask() -> int:
    """The process umask (reading it means setting it: set it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(filepath: Union[str, Path]) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``filepath`` for writing; on success
    it is flushed to disk and renamed to ``filepath``, so that readers see
    either the old file or the complete new one, never a partial file.

    The file gets the permissions of a plain ``open()`` (0666 less the
    umask), not the 0600 of :func:`tempfile.mkstemp`.

    Args:
        filepath (str | Path): The final path.

    Yields:
        BinaryIO: The temporary file, open for binary writing.
    """
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    # A unique name: a fixed `{name}.partial` could be another file.
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(filepath)}.',
        suffix=PARTIAL_SUFFIX,
        dir=folder,
    )
    try:
        with os.fdopen(fd, 'wb') as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` atomically (:func:`atomic_output`)."""
    with atomic_output(filepath) as f:
        f.write(data)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend with atomic ``put``/``put_text``.

    mmengine writes checkpoints with ``LocalBackend.put``, which opens the
    final path and writes into it: a crash or SIGKILL while saving leaves a
    truncated checkpoint under the real name. :mod:`mmmim.patches` makes
    it the backend of local paths.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(
        self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8'
    ) -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)
