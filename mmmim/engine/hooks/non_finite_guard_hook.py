# Copyright (c) mmmim contributors. All rights reserved.
"""Detect non-finite losses and gradients before they reach the weights."""

import types
from collections import defaultdict
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

from mmmim.registry import HOOKS

HINT = (
    'Common causes: fp16 overflow (prefer bf16: `--amp` uses bf16 by '
    'default, or AutocastOptimWrapper), a learning rate too high for '
    'the batch size (check auto_scale_lr), missing gradient clipping '
    '(optim_wrapper.clip_grad=dict(max_norm=...)), or bad input data.'
)


def grads_are_finite(params: List[torch.nn.Parameter]) -> torch.Tensor:
    """A 0-dim bool tensor: every gradient is finite. One fused kernel per
    (device, dtype) group; no host sync here."""
    groups: Dict[tuple, List[torch.Tensor]] = defaultdict(list)
    for param in params:
        grad = param.grad
        if grad is None:
            continue
        if _is_sharded(grad):  # FSDP2: this rank's shard
            grad = grad.to_local()
        groups[(grad.device, grad.dtype)].append(grad)
    finite = None
    for (device, _), grads in groups.items():
        found_inf = torch.zeros(1, device=device)
        # Unscaling by 1 leaves the gradients unchanged.
        torch._amp_foreach_non_finite_check_and_unscale_(
            grads, found_inf, torch.ones(1, device=device)
        )
        ok = found_inf[0] == 0
        finite = ok if finite is None else finite & ok.to(finite.device)
    return finite if finite is not None else torch.tensor(True)


def _is_sharded(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` is a DTensor (FSDP2 parameters and gradients)."""
    from torch.distributed.tensor import DTensor

    return isinstance(tensor, DTensor)


def finite_on_all_ranks(finite: torch.Tensor) -> torch.Tensor:
    """``finite`` of every rank, AND-ed. Sharded ranks each check their own
    shards and their own loss: skipping on some ranks only would leave the
    shards of one model at different steps."""
    flag = finite.to(torch.int32).reshape(1)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return flag[0] > 0


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Guard training against NaN/Inf losses and gradients.

    The optimizer step of every iteration is preceded by a check of the loss
    and of all gradients. On a non-finite value:

    - ``action='skip'``: the update is skipped (gradients are dropped), the
      count is logged as ``nonfinite_skips``, and training goes on; after
      ``max_skips`` skips (if set) it stops as below;
    - ``action='stop'``: training stops with an error that names the
      iteration, every loss term and a hint.

    With mmengine's ``AmpOptimWrapper`` (fp16) the GradScaler already skips
    steps with inf/NaN gradients (that is how loss scaling works), so only
    the loss is checked there. With sharded parameters (FSDP2Strategy)
    every rank checks its own shards and loss, and all ranks skip together.

    Args:
        action (str): ``'skip'`` or ``'stop'``. Defaults to 'skip'.
        max_skips (int, optional): Stop after this many skipped steps.
            Defaults to None (never).
    """

    priority = 'VERY_HIGH'

    def __init__(
        self, action: str = 'skip', max_skips: Optional[int] = None
    ) -> None:
        if action not in ('skip', 'stop'):
            raise ValueError(
                f"action must be 'skip' or 'stop', got {action!r}."
            )
        self.action = action
        self.max_skips = max_skips
        self.num_skips = 0
        self._bad_iter = False
        self._loss_finite = torch.tensor(True)

    def before_train(self, runner) -> None:
        wrappers = runner.optim_wrapper
        if isinstance(wrappers, OptimWrapperDict):
            wrappers = list(wrappers.values())
        else:
            wrappers = [wrappers]
        for wrapper in wrappers:
            self._install(wrapper)

    def _install(self, wrapper: OptimWrapper) -> None:
        """Check before the torch optimizer steps (after gradient clipping,
        inside ``OptimWrapper.step`` whose call counting the parameter
        schedulers rely on)."""
        hook = self
        optimizer = wrapper.optimizer
        original_backward = wrapper.backward
        original_step = optimizer.step
        check_grads = not isinstance(wrapper, AmpOptimWrapper)
        params = [
            p for group in optimizer.param_groups for p in group['params']
        ]
        sharded = dist.is_initialized() and any(map(_is_sharded, params))

        def backward(self_, loss: torch.Tensor, **kwargs) -> None:
            hook._loss_finite = torch.isfinite(loss.detach()).all()
            original_backward(loss, **kwargs)

        def step(*args, **kwargs):
            finite = hook._loss_finite
            if check_grads:
                finite = finite & grads_are_finite(params).to(finite.device)
            if sharded:
                finite = finite_on_all_ranks(finite)
            if bool(finite):  # one host sync per optimizer step
                return original_step(*args, **kwargs)
            hook._bad_iter = True
            return None

        wrapper.backward = types.MethodType(backward, wrapper)
        optimizer.step = step

    def after_train_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: Optional[dict] = None,
        outputs: Optional[dict] = None,
    ) -> None:
        runner.message_hub.update_scalar(
            'train/nonfinite_skips', self.num_skips + self._bad_iter
        )
        if not self._bad_iter:
            return
        self._bad_iter = False
        self.num_skips += 1
        terms = ', '.join(
            f'{k}={float(torch.as_tensor(v).detach()):.4g}'
            for k, v in (outputs or {}).items()
        )
        where = f'iteration {runner.iter + 1}'
        if self.action == 'skip' and (
            self.max_skips is None or self.num_skips < self.max_skips
        ):
            runner.logger.warning(
                f'Non-finite loss or gradients at {where} ({terms}): the '
                f'update was skipped ({self.num_skips} so far).'
            )
            return
        reason = (
            'stop on the first non-finite value'
            if self.action == 'stop'
            else f'{self.num_skips} skipped updates reached max_skips'
        )
        raise FloatingPointError(
            f'Non-finite loss or gradients at {where}: {terms}. Training '
            f'stopped ({reason}); the weights hold the last finite update. '
            + HINT
        )
