# Copyright (c) mmmim contributors. All rights reserved.
"""A checkpoint hook that never leaves a run without a loadable checkpoint."""

import os
import os.path as osp
import shutil
import time

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook

from mmmim.registry import HOOKS
from mmmim.utils.atomic_io import atomic_write_bytes
from mmmim.utils.stale_files import (
    checkpoints_beyond_limit,
    stale_partial_files,
)


def _relative_to(path: str, work_dir: str) -> str:
    """``path`` relative to the work dir when it lies inside it (so a moved
    work dir resumes from its own files), else unchanged."""
    if '://' in path:  # a remote backend
        return path
    relative = osp.relpath(osp.abspath(path), osp.abspath(work_dir))
    return path if relative.startswith(os.pardir) else relative


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with a crash-safe order of operations.

    mmengine's hook deletes the oldest checkpoint (``max_keep_ckpts``)
    *before* writing the new one, so with ``max_keep_ckpts=1`` a kill while
    saving leaves no checkpoint at all. This hook writes the new checkpoint
    first (atomically, through :class:`AtomicLocalBackend` installed by
    ``import mmmim``), then points ``last_checkpoint`` at it (atomically),
    and only then deletes checkpoints beyond ``max_keep_ckpts``.

    When a run starts or resumes, it deletes (and logs) what a killed run
    left in a local checkpoint folder: ``*.partial`` temporary files, and
    checkpoints beyond ``max_keep_ckpts`` other than the newest, the one
    resumed from and the ones the resumed run still counts. Arguments are
    those of :class:`mmengine.hooks.CheckpointHook`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Temporary files older than the run are no writer's any more.
        self._started = time.time()

    def before_train(self, runner) -> None:
        """Set up as mmengine's hook, then remove a killed run's files."""
        super().before_train(runner)
        if is_main_process() and isinstance(self.file_backend, LocalBackend):
            self._remove_stale_files(runner)

    def _remove_stale_files(self, runner) -> None:
        folders = dict.fromkeys([self.out_dir, runner.work_dir])
        stale = [
            path
            for folder in folders
            for path in stale_partial_files(folder, self._started)
        ]
        protected = [
            self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(step)
            )
            for step in getattr(self, 'keep_ckpt_ids', ())
        ]
        if getattr(runner, '_load_from', None):
            protected.append(runner._load_from)
        last = osp.join(runner.work_dir, 'last_checkpoint')
        if osp.isfile(last):  # what `--resume` (auto) resumes from
            with open(last) as f:
                protected.append(osp.join(runner.work_dir, f.read().strip()))
        stale += checkpoints_beyond_limit(
            self.out_dir, self.filename_tmpl, self.max_keep_ckpts, protected
        )
        for path in stale:
            if osp.isdir(path):  # a sharded checkpoint (FSDP2Strategy)
                shutil.rmtree(path)
            else:
                os.remove(path)
        if stale:
            runner.logger.info(
                f'Removed {len(stale)} file(s) left by an interrupted run '
                f'(temporary files, checkpoints beyond max_keep_ckpts='
                f'{self.max_keep_ckpts}): {", ".join(stale)}'
            )

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(
            self.out_dir, ckpt_filename
        )
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        keep = self.max_keep_ckpts > 0
        new_step = keep and (
            not self.keep_ckpt_ids or self.keep_ckpt_ids[-1] != step
        )
        if new_step:
            # The checkpoint records the ids kept once it is written.
            kept = (list(self.keep_ckpt_ids) + [step])[-self.max_keep_ckpts :]
            runner.message_hub.update_info('keep_ckpt_ids', kept)

        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if not is_main_process():
            if new_step:
                self._rotate(step, remove=False)
            return
        atomic_write_bytes(
            _relative_to(self.last_ckpt, runner.work_dir).encode(),
            osp.join(runner.work_dir, 'last_checkpoint'),
        )
        if new_step:
            self._rotate(step, remove=True)

    def _rotate(self, step: int, remove: bool) -> None:
        """Record ``step`` and delete the checkpoints beyond the limit."""
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            old_step = self.keep_ckpt_ids.popleft()
            if remove:
                path = self.file_backend.join_path(
                    self.out_dir, self.filename_tmpl.format(old_step)
                )
                if self.file_backend.isfile(path):
                    self.file_backend.remove(path)
                elif self.file_backend.isdir(path):
                    self.file_backend.rmtree(path)
        self.keep_ckpt_ids.append(step)
