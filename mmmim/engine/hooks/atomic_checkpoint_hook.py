# Copyright (c) mmmim contributors. All rights reserved.
"""A checkpoint hook that never leaves a run without a loadable checkpoint."""

import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from mmmim.registry import HOOKS
from mmmim.utils.atomic_io import atomic_write_bytes


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with a crash-safe order of operations.

    mmengine's hook deletes the oldest checkpoint (``max_keep_ckpts``)
    *before* writing the new one, so with ``max_keep_ckpts=1`` a kill while
    saving leaves no checkpoint at all. This hook writes the new checkpoint
    first (atomically, through :class:`AtomicLocalBackend` installed by
    ``import mmmim``), then points ``last_checkpoint`` at it (atomically),
    and only then deletes checkpoints beyond ``max_keep_ckpts``. Arguments
    are those of :class:`mmengine.hooks.CheckpointHook`.
    """

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
            self.last_ckpt.encode(),
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
