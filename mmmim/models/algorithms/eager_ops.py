# Copyright (c) mmmim contributors. All rights reserved.
"""The parts of a training step that stay eager under ``torch.compile``.

mmengine's runner compiles ``model.train_step`` when a config sets
``compile``. Only the forward pass and the loss are worth compiling: the
data preprocessor works on per-sample Python objects (new ones every
iteration, which would make dynamo recompile every step), and the
optimizer wrapper's update runs hooks, gradient clipping and an optimizer
that dynamo cannot always trace. Each helper here is excluded from
compilation, so a compiled ``train_step`` breaks its graph only between
them, never inside a context manager.
"""

from contextlib import AbstractContextManager
from typing import Callable, Optional, Tuple, Union

import torch
from mmengine.optim import OptimWrapper

__all__ = [
    'enter_optim_context',
    'exit_optim_context',
    'preprocess',
    'update_params',
]


@torch.compiler.disable
def enter_optim_context(
    optim_wrapper: OptimWrapper, model: torch.nn.Module
) -> AbstractContextManager:
    """Enter ``optim_wrapper.optim_context(model)`` (autocast, gradient
    accumulation) eagerly and return it for :func:`exit_optim_context`.

    Args:
        optim_wrapper (OptimWrapper): The wrapper of the step.
        model (torch.nn.Module): The model it updates.

    Returns:
        AbstractContextManager: The entered context.
    """
    context = optim_wrapper.optim_context(model)
    context.__enter__()
    return context


@torch.compiler.disable
def exit_optim_context(context: AbstractContextManager) -> None:
    """Leave a context entered by :func:`enter_optim_context`.

    Args:
        context (AbstractContextManager): The entered context.
    """
    context.__exit__(None, None, None)


@torch.compiler.disable
def preprocess(
    model: torch.nn.Module,
    data: Union[dict, tuple, list],
    split: Callable,
) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Run the data preprocessor and pick the images and masks.

    Args:
        model (torch.nn.Module): The model with a ``data_preprocessor``.
        data (dict | tuple | list): A batch from the dataloader.
        split (Callable): ``split(inputs, data_samples) -> (imgs, mask)``.

    Returns:
        Tuple[torch.Tensor, torch.Tensor | None]: Images and the mask.
    """
    data = model.data_preprocessor(data, True)
    if isinstance(data, dict):
        return split(data['inputs'], data.get('data_samples'))
    if isinstance(data, (list, tuple)):
        return split(*data)
    raise TypeError(
        'the data preprocessor should return a dict, list or tuple, got '
        f'{type(data)}'
    )


@torch.compiler.disable
def update_params(optim_wrapper: OptimWrapper, loss: torch.Tensor) -> None:
    """Backward pass and optimizer step (``optim_wrapper.update_params``).

    Args:
        optim_wrapper (OptimWrapper): The wrapper of the step.
        loss (torch.Tensor): The scalar loss.
    """
    optim_wrapper.update_params(loss)
