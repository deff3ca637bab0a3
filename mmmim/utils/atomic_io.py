# Copyright (c) mmmim contributors. All rights reserved.
"""Atomic local file writes for mmengine's file backend."""

import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio.backends import LocalBackend


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` so that readers see either the old
    file or the complete new one, never a partial file: write a temporary
    file in the same folder, flush it to disk, then rename it."""
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(filepath)}.', suffix='.partial', dir=folder
    )
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


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
