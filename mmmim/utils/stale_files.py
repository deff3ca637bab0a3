# Copyright (c) mmmim contributors. All rights reserved.
"""Find the files that a killed run leaves in its work dir.

A run killed while saving leaves the temporary file of
:func:`~mmmim.utils.atomic_io.atomic_output` (``*.partial``), and one
killed between writing a checkpoint and deleting the oldest leaves a
checkpoint beyond ``max_keep_ckpts`` that no later run deletes (the
checkpoint it resumes from records only the ids it keeps).
"""

import os
import os.path as osp
import re
from typing import Iterable, List

from .atomic_io import PARTIAL_SUFFIX

__all__ = ['stale_partial_files', 'checkpoints_beyond_limit']


def stale_partial_files(folder: str, older_than: float) -> List[str]:
    """``*.partial`` files in ``folder`` last written before ``older_than``
    (a ``time.time()``), i.e. not by the current run; also the temporary
    folders of sharded checkpoints."""
    if not osp.isdir(folder):
        return []
    found = []
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if (
            name.endswith(PARTIAL_SUFFIX)
            and (osp.isfile(path) or osp.isdir(path))
            and not osp.islink(path)
            and osp.getmtime(path) < older_than
        ):
            found.append(path)
    return found


def checkpoints_beyond_limit(
    folder: str,
    filename_tmpl: str,
    max_keep_ckpts: int,
    protected: Iterable[str] = (),
) -> List[str]:
    """Checkpoints named by ``filename_tmpl`` beyond the newest
    ``max_keep_ckpts`` (by step), sparing the ``protected`` paths.

    Args:
        folder (str): Where the checkpoints are.
        filename_tmpl (str): E.g. ``'iter_{}.pth'``.
        max_keep_ckpts (int): How many to keep; 0 or less keeps all.
        protected (Iterable[str]): Paths never returned (the checkpoint
            resumed from, the ones the resumed run still counts).

    Returns:
        list[str]: The paths to delete, oldest first.
    """
    if max_keep_ckpts <= 0 or not osp.isdir(folder):
        return []
    head, _, tail = filename_tmpl.partition('{}')
    pattern = re.compile(re.escape(head) + r'(\d+)' + re.escape(tail))
    steps = sorted(
        (int(m.group(1)), name)
        for name in os.listdir(folder)
        if (m := pattern.fullmatch(name))
        # A folder is a sharded checkpoint.
        and osp.exists(osp.join(folder, name))
    )
    spared = {osp.realpath(p) for p in protected}
    return [
        osp.join(folder, name)
        for _, name in steps[:-max_keep_ckpts]
        if osp.realpath(osp.join(folder, name)) not in spared
    ]
