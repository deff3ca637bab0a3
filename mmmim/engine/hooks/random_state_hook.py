# Copyright (c) mmmim contributors. All rights reserved.
"""Save and restore random number generator states with checkpoints."""

import random
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook

from mmmim.registry import HOOKS

STATE_KEY = 'rng_states'


def _numpy_state_to_plain(state: tuple) -> tuple:
    """NumPy's MT19937 state with its key array as an int64 tensor."""
    name, keys, pos, has_gauss, cached = state
    return (
        name,
        torch.from_numpy(keys.astype(np.int64)),
        int(pos),
        int(has_gauss),
        float(cached),
    )


def capture_rng_state() -> Dict[str, Any]:
    """The python, NumPy, torch CPU (and CUDA) generator states of this
    process, as objects that load with ``weights_only=True``."""
    state = dict(
        python=random.getstate(),
        numpy=_numpy_state_to_plain(np.random.get_state()),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state(
        (name, keys.numpy().astype(np.uint32), pos, has_gauss, cached)
    )
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make ``--resume`` continue the random streams of the interrupted run.

    mmengine 0.10.7 only re-seeds on resume, so the masks, drop-path and
    dropout draws after a resume differ from those of an uninterrupted run.
    This hook stores every rank's generator states in each checkpoint
    (gathered on all ranks when a save is due) and, when resuming,
    restores them right before the first resumed iteration. Loading
    weights with ``load_from`` (no resume) leaves the generators alone.

    Data-pipeline randomness in dataloader workers is reproduced by the
    worker seeding of PyTorch; with ``num_workers=0`` random transforms run
    in the main process, so the states are restored right before the first
    batch after the resume point is loaded (after the loop's fast-forward
    over the finished iterations).
    """

    # Before CheckpointHook (VERY_LOW): states are gathered on every rank
    # right before the saving rank writes the checkpoint.
    priority = 'LOW'

    def __init__(self) -> None:
        self._pending: Optional[Dict[str, Any]] = None
        self._gathered: Optional[Tuple[int, List[Dict[str, Any]]]] = None

    @staticmethod
    def _checkpoint_hook(runner) -> Optional[CheckpointHook]:
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook):
                return hook
        return None

    def _gather_if_saving(self, runner, by_epoch: bool) -> None:
        """``save_checkpoint`` runs on the saving rank only, so a collective
        there would hang: gather here, on all ranks, when a save is due."""
        if get_world_size() == 1:
            return
        ckpt = self._checkpoint_hook(runner)
        if ckpt is None or ckpt.by_epoch != by_epoch:
            return
        if by_epoch:
            due = ckpt.every_n_epochs(runner, ckpt.interval, ckpt.save_begin)
            last = ckpt.is_last_train_epoch(runner)
        else:
            due = ckpt.every_n_train_iters(
                runner, ckpt.interval, ckpt.save_begin
            )
            last = ckpt.is_last_train_iter(runner)
        if due or (ckpt.save_last and last):
            self._gathered = (
                runner.iter,
                all_gather_object(capture_rng_state()),
            )

    def after_train_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: Optional[dict] = None,
        outputs: Optional[dict] = None,
    ) -> None:
        self._gather_if_saving(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_saving(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._gathered is not None and self._gathered[0] == runner.iter:
            checkpoint[STATE_KEY] = self._gathered[1]
        else:  # one process, or a save outside the schedule (best ckpt)
            checkpoint[STATE_KEY] = [capture_rng_state()]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return
        states = checkpoint.get(STATE_KEY)
        if not states:
            runner.logger.warning(
                'The checkpoint has no random states (written without '
                'RandomStateHook): random draws after resuming differ '
                'from those of an uninterrupted run.'
            )
            return
        if len(states) != get_world_size():
            runner.logger.warning(
                f'The checkpoint holds random states of {len(states)} '
                f'ranks but {get_world_size()} are running: they are not '
                'restored.'
            )
            return
        self._pending = states[get_rank()]

    def before_train_epoch(self, runner) -> None:
        """Restore right before the first batch of the resumed run is
        loaded: with ``num_workers=0`` its random transforms run in this
        process, so restoring at ``before_train_iter`` (after the batch is
        loaded) would be one batch late."""
        if self._pending is None:
            return
        loop = runner.train_loop
        iterator = getattr(loop, 'dataloader_iterator', None)
        if iterator is None:
            # Epoch-based: this epoch's loader iterator starts after here.
            restore_rng_state(self._pending)
        else:
            # Iteration-based: the loop first fast-forwards its loader by
            # the finished iterations (drawing augmentations with
            # num_workers=0), then loads the first new batch.
            loop.dataloader_iterator = _RestoreBeforeBatch(
                loop, iterator, loop._iter, self._pending
            )
        self._pending = None

    def before_train_iter(
        self, runner, batch_idx: int, data_batch: Optional[dict] = None
    ) -> None:
        if self._pending is not None:  # a loop without train epochs
            restore_rng_state(self._pending)
            self._pending = None


class _RestoreBeforeBatch:
    """Wraps a loop's data iterator: after ``skip`` batches, restore the
    generator states, put the plain iterator back and load the batch."""

    def __init__(
        self, loop: Any, iterator: Any, skip: int, state: Dict[str, Any]
    ) -> None:
        self._loop, self._iterator = loop, iterator
        self._skip, self._state = skip, state

    def __iter__(self) -> '_RestoreBeforeBatch':
        return self

    def __next__(self) -> Any:
        if self._skip > 0:
            self._skip -= 1
            return next(self._iterator)
        restore_rng_state(self._state)
        self._loop.dataloader_iterator = self._iterator
        return next(self._iterator)
