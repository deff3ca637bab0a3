# Copyright (c) mmmim contributors. All rights reserved.
"""Distributed data parallel whose training step suits ``compile``."""

from typing import Dict, Union

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.model.wrappers.distributed import detect_anomalous_params
from mmengine.optim import OptimWrapper

from mmmim.registry import MODEL_WRAPPERS

from . import eager_ops
from .base import BaseMIM

__all__ = ['MIMDistributedDataParallel']


@MODEL_WRAPPERS.register_module()
class MIMDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper with :meth:`BaseMIM.train_step`'s layout.

    ``configs/_base_/default_runtime.py`` names it for every distributed
    run, so ``tools/train.py`` and ``Runner.from_cfg`` wrap alike. Without
    ``compile`` its step computes what mmengine's does (the data
    preprocessor runs before the optimizer context instead of inside it,
    which changes nothing: normalising is no op that autocast casts).
    With ``compile`` mmengine's runner compiles the wrapper's
    ``train_step``; mmengine's own would trace the optimizer wrapper's
    update (hooks, parameter groups), which dynamo cannot always do. Here,
    as in :meth:`BaseMIM.train_step`, only the forward pass (through DDP,
    so gradients are still all-reduced) and the loss are compiled;
    preprocessing, the optimizer context and the update stay eager.
    Models that are not :class:`BaseMIM` get mmengine's step.

    Args:
        **kwargs: As :class:`mmengine.model.MMDistributedDataParallel`.
    """

    def train_step(
        self, data: Union[dict, tuple, list], optim_wrapper: OptimWrapper
    ) -> Dict[str, torch.Tensor]:
        """One training iteration.

        Args:
            data (dict | tuple | list): A batch from the dataloader.
            optim_wrapper (OptimWrapper): Updates the parameters.

        Returns:
            Dict[str, torch.Tensor]: The loss terms to log.
        """
        module = self.module
        if not isinstance(module, BaseMIM):
            return super().train_step(data, optim_wrapper)
        imgs, mask = eager_ops.preprocess(module, data, module._split_inputs)
        context = eager_ops.enter_optim_context(optim_wrapper, self)
        # The mask tensor takes the place of the data samples.
        losses = self(imgs, mask, mode='loss')
        eager_ops.exit_optim_context(context)
        parsed_loss, log_vars = module.parse_losses(losses)
        eager_ops.update_params(optim_wrapper, parsed_loss)
        if self.detect_anomalous_params:
            detect_anomalous_params(parsed_loss, model=self)
        return log_vars
